import CLMDB

/// Statistics of one database (`mdb_stat`).
package struct DatabaseStatistics: Sendable, Hashable, Codable {
    /// The page size in bytes.
    package let pageSize: Int
    /// The depth of the B-tree.
    package let depth: Int
    /// Internal (branch) pages.
    package let branchPages: Int
    /// Leaf pages.
    package let leafPages: Int
    /// Overflow pages (values too large for a leaf).
    package let overflowPages: Int
    /// Entries.
    package let entries: Int

    /// The bytes the database's pages take.
    package var bytesUsed: Int { (branchPages + leafPages + overflowPages) * pageSize }

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
package struct EnvironmentInfo: Sendable, Hashable, Codable {
    /// The current map size in bytes.
    package let mapSize: Int
    /// The number of the last page used; `(lastPage + 1) * pageSize` is the
    /// file's used size.
    package let lastPage: Int
    /// The id of the last committed transaction.
    package let lastTransactionID: Int
    /// Reader slots in the lock file.
    package let maxReaders: Int
    /// Reader slots in use.
    package let readersInUse: Int
    /// The page size in bytes.
    package let pageSize: Int

    /// The bytes of the data file in use.
    package var usedBytes: Int { (lastPage + 1) * pageSize }
}
