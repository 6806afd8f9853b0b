import CLMDB

/// Statistics of one database (`mdb_stat`).
public struct DatabaseStatistics: Sendable, Hashable, Codable {
    /// The page size in bytes.
    public let pageSize: Int
    /// The depth of the B-tree.
    public let depth: Int
    /// Internal (branch) pages.
    public let branchPages: Int
    /// Leaf pages.
    public let leafPages: Int
    /// Overflow pages (values too large for a leaf).
    public let overflowPages: Int
    /// Entries.
    public let entries: Int

    /// The bytes the database's pages take.
    public var bytesUsed: Int { (branchPages + leafPages + overflowPages) * pageSize }

    init(_ stat: MDB_stat) {
        pageSize = Int(stat.ms_psize)
        depth = Int(stat.ms_depth)
        branchPages = stat.ms_branch_pages
        leafPages = stat.ms_leaf_pages
        overflowPages = stat.ms_overflow_pages
        entries = stat.ms_entries
    }
}

/// Facts about an environment (`mdb_env_info` and `mdb_env_stat`).
public struct EnvironmentInfo: Sendable, Hashable, Codable {
    /// The current map size in bytes.
    public let mapSize: Int
    /// The number of the last page used; `(lastPage + 1) * pageSize` is the
    /// file's used size.
    public let lastPage: Int
    /// The id of the last committed transaction.
    public let lastTransactionID: Int
    /// Reader slots in the lock file.
    public let maxReaders: Int
    /// Reader slots in use.
    public let readersInUse: Int
    /// The page size in bytes.
    public let pageSize: Int

    /// The bytes of the data file in use.
    public var usedBytes: Int { (lastPage + 1) * pageSize }
}
