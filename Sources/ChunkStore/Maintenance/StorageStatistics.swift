import LMDB

/// The pages one of the store's tables takes.
public struct TableStatistics: Sendable, Hashable, Codable {
    /// The page size in bytes.
    public let pageSize: Int
    /// The depth of the table's B-tree.
    public let depth: Int
    /// Internal (branch) pages.
    public let branchPages: Int
    /// Leaf pages.
    public let leafPages: Int
    /// Overflow pages (values too large for a leaf).
    public let overflowPages: Int
    /// Rows.
    public let entries: Int

    /// The bytes the table's pages take.
    public var bytesUsed: Int { (branchPages + leafPages + overflowPages) * pageSize }

    init(_ statistics: DatabaseStatistics) {
        pageSize = statistics.pageSize
        depth = statistics.depth
        branchPages = statistics.branchPages
        leafPages = statistics.leafPages
        overflowPages = statistics.overflowPages
        entries = statistics.entries
    }
}

/// The store's file and memory map.
public struct StorageInfo: Sendable, Hashable, Codable {
    /// The current map size in bytes (the most the file may grow to before
    /// the map is grown).
    public let mapSize: Int
    /// The number of the last page used; `(lastPage + 1) * pageSize` is the
    /// data file's used size.
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

    init(_ info: EnvironmentInfo) {
        mapSize = info.mapSize
        lastPage = info.lastPage
        lastTransactionID = info.lastTransactionID
        maxReaders = info.maxReaders
        readersInUse = info.readersInUse
        pageSize = info.pageSize
    }
}
