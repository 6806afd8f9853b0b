import DSMR

/// Counts and sizes of what a store holds, per status and per producer, with
/// ledger usage against the limits and each table's page statistics.
public struct StoreStatistics: Sendable, Codable {
    /// Chunks and their bytes for one status or one producer.
    public struct Tally: Sendable, Hashable, Codable {
        /// Chunks counted.
        public var chunks = 0
        /// Their encoded bytes.
        public var bytes = 0
    }

    /// One producer's share of the store.
    public struct Producer: Sendable, Hashable, Codable {
        /// The producer, in hex.
        public var producer: String
        /// Pending chunks.
        public var pending = Tally()
        /// Accepted chunks.
        public var accepted = Tally()
        /// The producer's usage in the latest window with a ledger row.
        public var latestWindow: UInt64?
        /// That usage.
        public var latestUsage: Dimensions?
    }

    /// The network id.
    public var networkID: UInt32
    /// The chain id, hex.
    public var chainID: String
    /// The node id, hex.
    public var nodeID: String
    /// The watermark (ms).
    public var watermark: Int64
    /// The accepted tip's height, if any.
    public var acceptedHeight: UInt64?
    /// The executed tip, if any.
    public var executedHeight: UInt64?
    /// Chunks per status.
    public var pending = Tally()
    /// Accepted chunks.
    public var accepted = Tally()
    /// Per producer, in producer order.
    public var producers: [Producer] = []
    /// The rate limit each producer's window is held to.
    public var limitPerWindow: Dimensions
    /// Rows and pages of each table.
    public var tables: [String: TableStatistics] = [:]
    /// The store's file and map.
    public var environment: StorageInfo
}
