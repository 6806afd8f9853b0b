import Crypto
import DSMR
import LMDB

/// Writing and loading dump files: the engine behind `ChunkStore.dump` and
/// `ChunkStore.load`.
extension StoreDump {
    /// Writes every row `r` sees to the file at `path`.
    static func write(
        _ r: borrowing StoreReader, to path: String, replacing: Bool, progress: ProgressHandler?
    ) throws -> Summary {
        let counter = ProgressCounter(progress)
        let file = try OutputFile(path: path, replacing: replacing)
        var hasher = SHA256()
        var summary = Summary()
        func emit(_ bytes: [UInt8]) throws {
            hasher.update(data: bytes)
            summary.bytes += bytes.count
            try file.write(bytes)
        }
        try emit(header())
        for (number, table) in r.tables.all.enumerated() {
            counter.begin("dumping " + table.name, total: try r.count(of: table))
            defer { counter.end() }
            try r.scan(table) { entry in
                counter.tick()
                var row: [UInt8] = [UInt8(number)]
                row.reserveCapacity(9 + entry.key.count + entry.value.count)
                row += lengthBytes(entry.key.count)
                row += entry.key
                row += lengthBytes(entry.value.count)
                row += entry.value
                try emit(row)
                summary.rows[table.name, default: 0] += 1
                return .next
            }
        }
        try emit([endMarker])
        let digest = Array(hasher.finalize())
        try file.write(digest)
        summary.bytes += digest.count
        try file.finish()
        return summary
    }

    /// Verifies the dump at `path`, then loads it into a new store in
    /// `directory`.
    static func load(_ path: String, into directory: String, progress: ProgressHandler?) throws -> Summary {
        try verify(at: path)
        let target = try OutputPlacement.newStoreDirectory(directory)
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
        _ = try reader.read(header().count, "the header")
        var summary = Summary()
        summary.bytes = try reader.size()
        var finished = false
        while !finished {
            progress?(StoreProgress(stage: "loading", done: reader.offset, total: summary.bytes))
            var batch: [(Database, [UInt8], [UInt8])] = []
            var batchBytes = 0
            while batchBytes < loadBatchBytes {
                let number = try reader.read(1, "a row's table")[0]
                if number == endMarker {
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
        try target.sync()
        progress?(StoreProgress(stage: "loading", done: summary.bytes, total: summary.bytes))
        return summary
    }
}
