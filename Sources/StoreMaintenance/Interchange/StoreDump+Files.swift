import ChunkStore
import Crypto
import DSMR
import Foundation
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

    /// Loads the dump at `path` into a new store in `directory`, reading the
    /// file once through one descriptor (see `ChunkStore.load`), calling
    /// `afterOpening` once it is open (tests swap the file there).
    static func load(
        _ path: String, into directory: String, progress: ProgressHandler?, afterOpening: () throws -> Void
    ) throws -> Summary {
        let reader = try DumpReader(path: path)
        try afterOpening()
        try reader.header()
        let target = try OutputPlacement.newStoreDirectory(directory)
        var complete = false
        defer { if !complete { remove(target) } }
        let lock = try WriterLock(directory: directory)
        defer { lock.release() }
        let environment = try StoreEnvironment.open(directory, readOnly: false, durability: .noSync)
        defer { environment.close() }
        let tables = try Tables(environment)
        let databases = tables.all
        let marker = MetaKey.loadIncomplete
        try environment.write { txn in
            try StoreWriter.with(txn, tables: tables) { w in try w.setMeta(marker, BytesRow([1])) }
        }

        var summary = Summary()
        summary.bytes = reader.size
        var previous: DumpReader.Row?
        var rowNumber = 0
        var finished = false
        // Bounded by the dump's rules once its `meta` rules row is read
        // (meta comes first).
        var bounds = ValueBounds(rules: nil)
        let names = Schema.all
        while !finished {
            progress?(StoreProgress(stage: "loading", done: reader.offset, total: summary.bytes))
            var batch: [DumpReader.Row] = []
            var batchBytes = 0
            while batchBytes < loadBatchBytes {
                rowNumber += 1
                guard let row = try reader.row(number: rowNumber, tables: names, largestValue: bounds.largest) else {
                    finished = true
                    break
                }
                try checkOrder(row, after: previous, tables: databases, path: path)
                if row.table == 0 && row.key == marker.key.bytes {
                    throw ChunkStoreError(.badInterchange, "\(path): holds the marker of an unfinished load")
                }
                do {
                    try tables.checkRow(table: row.table, key: row.key, value: row.value)
                } catch let error as ChunkStoreError {
                    throw ChunkStoreError(
                        .badInterchange,
                        "\(path): row \(rowNumber) (\(databases[row.table].name), key \(Hex.encode(row.key.prefix(64)))) "
                            + "does not match the schema: \(error.message)")
                }
                if row.table == 0 && row.key == MetaKey.rules.key.bytes {
                    bounds = ValueBounds(rules: try row.value.withUnsafeBytes { try RulesRow(decoding: $0) }.rules)
                }
                previous = row
                batch.append(row)
                batchBytes += row.key.count + row.value.count
                summary.rows[databases[row.table].name, default: 0] += 1
            }
            try environment.write { txn in
                for row in batch { try txn.put(row.value, forKey: row.key, in: databases[row.table]) }
            }
        }
        try reader.finish()
        _ = try environment.write { txn in
            try StoreWriter.with(txn, tables: tables) { w in try w.delete(tables.meta, marker.key) }
        }
        try environment.sync(force: true)
        try target.sync()
        complete = true
        progress?(StoreProgress(stage: "loading", done: summary.bytes, total: summary.bytes))
        return summary
    }

    /// Refuses a row that does not come after `previous`: tables in schema
    /// order, keys strictly increasing within a table (LMDB's order), so no
    /// row of the file overwrites another.
    static func checkOrder(
        _ row: DumpReader.Row, after previous: DumpReader.Row?, tables: [Database], path: String
    )
        throws
    {
        guard let previous else { return }
        if row.table > previous.table { return }
        guard row.table == previous.table, previous.key.lexicographicallyPrecedes(row.key) else {
            throw ChunkStoreError(
                .badInterchange,
                "\(path): a \(tables[row.table].name) row is out of order (key \(Hex.encode(row.key.prefix(64))))")
        }
    }

    /// Removes what a failed load made: the store's files, and its directory
    /// if the load made it.
    static func remove(_ directory: OutputPlacement.Directory) {
        for file in OutputPlacement.storeFiles { unlinkat(directory.descriptor, file, 0) }
        if directory.created { rmdir(directory.path) }
    }
}
