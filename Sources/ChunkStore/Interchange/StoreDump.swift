import Crypto
import DSMR

/// A whole store in one file, for backup and migration.
///
/// Layout: magic `DSMRDUMP` (8) | dump format version (4) | schema version
/// (4) | rows | end marker 0xFF | SHA-256 of everything before it (32). A row
/// is: table number (1, in `Schema.all` order) | key length (4) | key | value
/// length (4) | value. Integers are big-endian. The dump is one consistent
/// snapshot; it holds the signing ledger, so it is written with mode 0600
/// (see ``ChunkStore/dump(to:replacing:progress:)``).
public enum StoreDump {
    static let magic = Array("DSMRDUMP".utf8)
    static let formatVersion: UInt32 = 1
    static let endMarker: UInt8 = 0xFF
    static let maxKeyBytes = 511
    static let loadBatchBytes = 16 << 20

    /// What a dump or load moved.
    public struct Summary: Sendable, Hashable, Codable {
        /// Rows per database.
        public var rows: [String: Int] = [:]
        /// Bytes of the dump file.
        public var bytes = 0
    }

    static func header() -> [UInt8] {
        var writer = RowWriter(capacity: magic.count + 8)
        writer.bytes(magic)
        writer.uint32(formatVersion)
        writer.uint32(Schema.version)
        return writer.bytes
    }

    static func lengthBytes(_ count: Int) -> [UInt8] {
        var writer = RowWriter(capacity: 4)
        writer.uint32(UInt32(count))
        return writer.bytes
    }

    /// Reads the whole dump once, checking its structure and checksum.
    static func verify(at path: String) throws {
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
        let expected = header()
        let found = try take(expected.count, "the header")
        guard found.starts(with: magic) else {
            throw ChunkStoreError(.badInterchange, "\(path) is not a store dump (bad magic)")
        }
        guard found == expected else {
            throw ChunkStoreError(
                .badInterchange, "\(path) has another dump format or schema version than this build writes")
        }
        while true {
            let number = try take(1, "a row's table")[0]
            if number == endMarker { break }
            guard Int(number) < Schema.all.count else {
                throw ChunkStoreError(.badInterchange, "\(path): unknown table \(number) at byte \(reader.offset - 1)")
            }
            let keyLength = try length("a key length")
            guard keyLength >= 1, keyLength <= maxKeyBytes else {
                throw ChunkStoreError(.badInterchange, "\(path): key length \(keyLength) at byte \(reader.offset - 4)")
            }
            _ = try take(keyLength, "a key")
            _ = try take(try length("a value length"), "a value")
        }
        let digest = Array(hasher.finalize())
        let stored = try reader.read(32, "the checksum")
        guard stored == digest else {
            throw ChunkStoreError(.badInterchange, "\(path): the checksum does not match; the file is damaged")
        }
        guard reader.offset == size else {
            throw ChunkStoreError(.badInterchange, "\(path): \(size - reader.offset) bytes follow the checksum")
        }
    }
}
