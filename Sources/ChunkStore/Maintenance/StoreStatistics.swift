import DSMR
import LMDB

/// Counts and sizes of what a store holds, per status and per producer, with
/// ledger usage against the limits and LMDB's own page statistics.
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
    /// Rows in each database.
    public var tables: [String: DatabaseStatistics] = [:]
    /// The environment's map and page facts.
    public var environment: EnvironmentInfo
}

extension ChunkStore {
    /// Counts and sizes per status and per producer, ledger usage and page
    /// statistics. Reads every chunk header, so it costs a scan of `chunks`.
    public func statistics() throws -> StoreStatistics {
        let info = try environment.info()
        return try snapshot { txn in
            var stats = StoreStatistics(
                networkID: configuration.networkID, chainID: configuration.chainID.hex,
                nodeID: configuration.nodeID.hex, watermark: try meta.watermark(txn),
                acceptedHeight: try meta.acceptedTip(txn)?.height, executedHeight: try meta.executedTip(txn),
                limitPerWindow: configuration.rules.maxUnitsPerWindow, environment: info)
            var producers: [NodeID: StoreStatistics.Producer] = [:]
            try txn.scan(tables.chunks) { entry in
                guard let (record, body) = try? ChunkRecord.parse(entry.value) else { return .next }
                var producer = producers[record.producer] ?? StoreStatistics.Producer(producer: record.producer.hex)
                switch record.status {
                case .pending:
                    stats.pending.chunks += 1
                    stats.pending.bytes += body.count
                    producer.pending.chunks += 1
                    producer.pending.bytes += body.count
                case .accepted:
                    stats.accepted.chunks += 1
                    stats.accepted.bytes += body.count
                    producer.accepted.chunks += 1
                    producer.accepted.bytes += body.count
                }
                producers[record.producer] = producer
                return .next
            }
            try txn.scan(tables.ledger) { entry in
                guard let (id, window) = Keys.parsePerProducer(entry.key),
                    let usage = try? Dimensions(fixedBytes: entry.value)
                else { return .next }
                var producer = producers[id] ?? StoreStatistics.Producer(producer: id.hex)
                producer.latestWindow = window
                producer.latestUsage = usage
                producers[id] = producer
                return .next
            }
            stats.producers = producers.sorted { $0.key < $1.key }.map(\.value)
            for table in tables.all { stats.tables[table.name] = try txn.statistics(of: table) }
            return stats
        }
    }
}
