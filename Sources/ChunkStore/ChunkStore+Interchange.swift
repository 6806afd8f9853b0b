import Crypto
import DSMR
import LMDB

extension ChunkStore {
    /// Writes the whole store, as one snapshot, to the file at `path`;
    /// `progress`, if given, hears how far each table has come.
    @discardableResult
    public func dump(to path: String, progress: ProgressHandler? = nil) throws -> StoreDump.Summary {
        let counter = ProgressCounter(progress)
        let file = try AtomicFileWriter(path: path)
        var hasher = SHA256()
        var summary = StoreDump.Summary()
        func emit(_ bytes: [UInt8]) throws {
            hasher.update(data: bytes)
            summary.bytes += bytes.count
            try file.write(bytes)
        }
        try emit(StoreDump.header())
        try snapshot { r in
            for (number, table) in r.tables.all.enumerated() {
                counter.begin("dumping " + table.name, total: try r.count(of: table))
                defer { counter.end() }
                try r.scan(table) { entry in
                    counter.tick()
                    var row: [UInt8] = [UInt8(number)]
                    row.reserveCapacity(9 + entry.key.count + entry.value.count)
                    row += StoreDump.lengthBytes(entry.key.count)
                    row += entry.key
                    row += StoreDump.lengthBytes(entry.value.count)
                    row += entry.value
                    try emit(row)
                    summary.rows[table.name, default: 0] += 1
                    return .next
                }
            }
        }
        try emit([StoreDump.endMarker])
        let digest = Array(hasher.finalize())
        try file.write(digest)
        summary.bytes += digest.count
        try file.finish()
        return summary
    }

    /// Makes a new store in `directory` (which must not hold one) from the
    /// dump at `path`. The whole file is verified (structure and checksum)
    /// before anything is written; while rows are loaded, `meta` carries a
    /// marker that makes opening refuse the half-loaded store.
    /// `progress`, if given, hears how many bytes of the file are loaded.
    @discardableResult
    public static func load(
        dump path: String, into directory: String, progress: ProgressHandler? = nil
    ) throws -> StoreDump.Summary {
        try StoreDump.verify(at: path)
        let createdDirectory = try FileSystem.makeDirectory(directory)
        if FileSystem.exists(directory + "/data.mdb") {
            throw ChunkStoreError(.alreadyExists, "\(directory) already holds a store; load into an empty directory")
        }
        let lock = try WriterLock(directory: directory)
        defer { lock.release() }
        let environment = try StoreEnvironment.open(directory, readOnly: false, durability: .noSync)
        defer { environment.close() }
        let tables = try Tables(environment)
        let marker = MetaKey.loadIncomplete
        try environment.write { txn in
            try StoreWriter.with(txn, tables: tables) { w in try w.setMeta(marker, BytesRow([1])) }
        }

        let reader = try BinaryFileReader(path: path)
        _ = try reader.read(StoreDump.header().count, "the header")
        var summary = StoreDump.Summary()
        summary.bytes = try reader.size()
        var finished = false
        while !finished {
            progress?(StoreProgress(stage: "loading", done: reader.offset, total: summary.bytes))
            var batch: [(Database, [UInt8], [UInt8])] = []
            var batchBytes = 0
            while batchBytes < StoreDump.loadBatchBytes {
                let number = try reader.read(1, "a row's table")[0]
                if number == StoreDump.endMarker {
                    finished = true
                    break
                }
                let key = try reader.read(Int(try reader.readUInt32("a key length")), "a key")
                let value = try reader.read(Int(try reader.readUInt32("a value length")), "a value")
                let table = tables.all[Int(number)]
                if table == tables.meta.database && key == marker.key.bytes { continue }
                batch.append((table, key, value))
                batchBytes += key.count + value.count
                summary.rows[table.name, default: 0] += 1
            }
            try environment.write { txn in
                for (table, key, value) in batch { try txn.put(value, forKey: key, in: table) }
            }
        }
        _ = try environment.write { txn in
            try StoreWriter.with(txn, tables: tables) { w in try w.delete(tables.meta, marker.key) }
        }
        try environment.sync(force: true)
        try FileSystem.syncDirectory(directory)
        if createdDirectory { try FileSystem.syncDirectory(FileSystem.parent(of: directory)) }
        progress?(StoreProgress(stage: "loading", done: summary.bytes, total: summary.bytes))
        return summary
    }

    /// The node's signing history: every `signed` row and the watermark.
    public func exportSigningHistory() throws -> SigningHistory {
        try snapshot { r in
            var byProducer: [NodeID: [SigningHistory.SignedChunk]] = [:]
            try r.scan(r.tables.signed) { entry in
                let key = try entry.key()
                let record = try entry.value()
                byProducer[key.producer, default: []].append(
                    SigningHistory.SignedChunk(slot: String(key.number), chunkID: record.chunkID.hex))
                return .next
            }
            let metadata = SigningHistory.Metadata(
                interchangeFormat: SigningHistory.formatName, interchangeFormatVersion: SigningHistory.formatVersion,
                networkID: configuration.networkID, chainID: configuration.chainID.hex,
                nodeID: configuration.nodeID.hex, lowWatermark: try r.watermark())
            return SigningHistory(
                metadata: metadata,
                data: byProducer.sorted { $0.key < $1.key }.map {
                    SigningHistory.ProducerHistory(producer: $0.key.hex, signedChunks: $0.value)
                })
        }
    }

    /// Merges a signing history into this store without ever weakening
    /// protection: slots not yet recorded are added, recorded ones are kept
    /// as they are, and the watermark becomes the higher of the two. A
    /// history of another network, chain or node is refused.
    public func importSigningHistory(_ history: SigningHistory) async throws -> SigningHistoryImport {
        let metadata = history.metadata
        guard metadata.networkID == configuration.networkID, metadata.chainID == configuration.chainID.hex,
            metadata.nodeID == configuration.nodeID.hex
        else {
            throw ChunkStoreError(
                .badInterchange,
                "the history belongs to network \(metadata.networkID) chain \(metadata.chainID) node \(metadata.nodeID), not this store's")
        }
        let rows = try history.rows()
        let rules = configuration.rules
        return try await submit { w in
            var result = SigningHistoryImport()
            let watermark = max(try w.watermark(), metadata.lowWatermark)
            try w.setWatermark(watermark)
            result.watermark = watermark
            for row in rows {
                guard rules.expiry(ofSlot: row.slot) > watermark else {
                    result.obsolete += 1
                    continue
                }
                let key = ProducerKey(row.producer, row.slot)
                if let existing = try w.get(w.tables.signed, key) {
                    if existing.chunkID == row.chunkID { result.alreadyPresent += 1 } else { result.keptExisting += 1 }
                    continue
                }
                try w.put(w.tables.signed, key, SignedRecord.imported(row.chunkID, expiry: rules.expiry(ofSlot: row.slot)))
                result.added += 1
            }
            return result
        }
    }
}
