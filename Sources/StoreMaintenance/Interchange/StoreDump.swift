import ChunkStore
import DSMR

/// A whole store in one file, for backup and migration.
///
/// Layout: magic `DSMRDUMP` (8) | dump format version (4) | schema version
/// (4) | rows | end marker 0xFF | SHA-256 of everything before it (32). A row
/// is: table number (1, in `Schema.all` order) | key length (4) | key | value
/// length (4) | value. Integers are big-endian. The dump is one consistent
/// snapshot; it holds the signing ledger, so it is written with mode 0600
/// (see `ChunkStore/dump(to:replacing:progress:)`).
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
}
