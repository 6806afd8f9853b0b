import DSMR
import LMDB

extension ChunkStore {
    /// Counts and sizes per status and per producer, ledger usage and page
    /// statistics. Reads every chunk header, so it costs a scan of `chunks`;
    /// records that do not parse are left out (`check()` reports them).
    public func statistics() throws -> StoreStatistics {
        let info = try storageInfo()
        return try snapshot { r in
            var stats = StoreStatistics(
                networkID: configuration.networkID, chainID: configuration.chainID.hex,
                nodeID: configuration.nodeID.hex, watermark: try r.watermark(),
                acceptedHeight: try r.acceptedTip()?.height, executedHeight: try r.executedTip(),
                limitPerWindow: configuration.rules.maxUnitsPerWindow, environment: info)
            var producers: [NodeID: StoreStatistics.Producer] = [:]
            try r.scan(r.tables.chunks) { entry in
                guard let (record, body) = try? ChunkRecord.parse(entry.raw.value) else { return .next }
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
            try r.scan(r.tables.ledger) { entry in
                guard let key = try? entry.key(), let usage = try? entry.value() else { return .next }
                var producer = producers[key.producer] ?? StoreStatistics.Producer(producer: key.producer.hex)
                producer.latestWindow = key.number
                producer.latestUsage = usage
                producers[key.producer] = producer
                return .next
            }
            stats.producers = producers.sorted { $0.key < $1.key }.map(\.value)
            for table in r.tables.all { stats.tables[table.name] = TableStatistics(try r.statistics(of: table)) }
            return stats
        }
    }

    /// The store's file and map: map size, pages used, readers.
    ///
    /// The corresponding C functions are `mdb_env_info` and `mdb_env_stat`.
    public func storageInfo() throws -> StorageInfo {
        try SealedErrors.sealed(configuration.path, .reading) { try StorageInfo(environment.info()) }
    }

    /// Flushes every commit to disk: for stores opened with a relaxed
    /// `StoreDurability`, before relying on what they wrote.
    ///
    /// The corresponding C function is `mdb_env_sync` (forced).
    public func sync() throws {
        try SealedErrors.sealed(configuration.path, .writing) { try environment.sync(force: true) }
    }
}
