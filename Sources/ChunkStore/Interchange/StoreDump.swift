import Crypto
import DSMR
import LMDB

/// A whole store in one file, for backup and migration.
///
/// Layout: magic `DSMRDUMP` (8) | dump format version (4) | schema version
/// (4) | rows | end marker 0xFF | SHA-256 of everything before it (32). A row
/// is: table number (1, in `Schema.all` order) | key length (4) | key | value
/// length (4) | value. Integers are big-endian. The dump is one consistent
/// snapshot; it is written to `<path>.partial` and renamed when complete.
public enum StoreDump {
    static let magic = Array("DSMRDUMP".utf8)
    static let formatVersion: UInt32 = 1
    static let endMarker: UInt8 = 0xFF
    static let maxKeyBytes = 511
    static let loadMarker: [UInt8] = Array("load_incomplete".utf8)
    static let loadBatchBytes = 16 << 20

    /// What a dump or load moved.
    public struct Summary: Sendable, Hashable, Codable {
        /// Rows per database.
        public var rows: [String: Int] = [:]
        /// Bytes of the dump file.
        public var bytes = 0
    }

    static func header() -> [UInt8] {
        var bytes = magic
        for value in [formatVersion, Schema.version] { withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) } }
        return bytes
    }

    static func lengthBytes(_ count: Int) -> [UInt8] {
        withUnsafeBytes(of: UInt32(count).bigEndian) { Array($0) }
    }
}

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
        try snapshot { txn in
            for (number, table) in tables.all.enumerated() {
                counter.begin("dumping " + table.name, total: try txn.count(of: table))
                defer { counter.end() }
                try txn.scan(table) { entry in
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
        try verifyDump(at: path)
        let createdDirectory = try FileSystem.makeDirectory(directory)
        if FileSystem.exists(directory + "/data.mdb") {
            throw ChunkStoreError(.io, "\(directory) already holds a store; load into an empty directory")
        }
        let lock = try WriterLock(directory: directory)
        defer { lock.release() }
        var options = EnvironmentOptions(path: directory)
        options.databases = Schema.all
        options.durability = .noSync
        let environment = try Environment(options)
        defer { environment.close() }
        let tables = try Tables(environment).all
        let meta = try environment.database(Schema.meta)
        try environment.write { txn in try txn.put([1], forKey: StoreDump.loadMarker, in: meta) }

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
                let table = tables[Int(number)]
                if table == meta && key == StoreDump.loadMarker { continue }
                batch.append((table, key, value))
                batchBytes += key.count + value.count
                summary.rows[table.name, default: 0] += 1
            }
            try environment.write { txn in
                for (table, key, value) in batch { try txn.put(value, forKey: key, in: table) }
            }
        }
        _ = try environment.write { txn in try txn.delete(StoreDump.loadMarker, in: meta) }
        try environment.sync(force: true)
        try FileSystem.syncDirectory(directory)
        if createdDirectory { try FileSystem.syncDirectory(FileSystem.parent(of: directory)) }
        progress?(StoreProgress(stage: "loading", done: summary.bytes, total: summary.bytes))
        return summary
    }

    /// Reads the whole dump once, checking its structure and checksum.
    static func verifyDump(at path: String) throws {
        let reader = try BinaryFileReader(path: path)
        let size = try reader.size()
        var hasher = SHA256()
        func take(_ count: Int, _ what: String) throws -> [UInt8] {
            guard count <= size - reader.offset else {
                throw ChunkStoreError(
                    .badInterchange, "\(path): \(what) of \(count) bytes at byte \(reader.offset) runs past the end")
            }
            let bytes = try reader.read(count, what)
            hasher.update(data: bytes)
            return bytes
        }
        func length(_ what: String) throws -> Int {
            Int(try take(4, what).reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        }
        let header = try take(16, "the header")
        guard Array(header[0..<8]) == StoreDump.magic else {
            throw ChunkStoreError(.badInterchange, "\(path) is not a store dump (bad magic)")
        }
        guard header[8..<16].elementsEqual(StoreDump.header()[8..<16]) else {
            throw ChunkStoreError(
                .badInterchange, "\(path) has another dump format or schema version than this build writes")
        }
        while true {
            let number = try take(1, "a row's table")[0]
            if number == StoreDump.endMarker { break }
            guard Int(number) < Schema.all.count else {
                throw ChunkStoreError(.badInterchange, "\(path): unknown table \(number) at byte \(reader.offset - 1)")
            }
            let keyLength = try length("a key length")
            guard keyLength >= 1, keyLength <= StoreDump.maxKeyBytes else {
                throw ChunkStoreError(.badInterchange, "\(path): key length \(keyLength) at byte \(reader.offset - 4)")
            }
            _ = try take(keyLength, "a key")
            _ = try take(try length("a value length"), "a value")
        }
        let expected = Array(hasher.finalize())
        let stored = try reader.read(32, "the checksum")
        guard stored == expected else {
            throw ChunkStoreError(.badInterchange, "\(path): the checksum does not match; the file is damaged")
        }
        guard reader.offset == size else {
            throw ChunkStoreError(.badInterchange, "\(path): \(size - reader.offset) bytes follow the checksum")
        }
    }
}
