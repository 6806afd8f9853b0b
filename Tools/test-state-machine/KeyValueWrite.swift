import Crypto
import DSMR

/// The kind of a key-value write's id.
public enum KeyValueWriteKind: Digest32Kind {
    public static let name = "KeyValueWriteID"
}

/// A key-value write's id: the SHA-256 of its canonical encoding.
public typealias KeyValueWriteID = Digest32<KeyValueWriteKind>

/// Sets one key to one value, on behalf of a writer.
///
/// The writer's next sequence must equal ``sequence`` (it then goes up by
/// one), so a write applies at most once; one that expired before its
/// block's timestamp is skipped. Writes carry no signature: the machine is
/// for tests, and anyone may write as any writer.
public struct KeyValueWrite: DSMR.Transaction, Hashable {
    /// The writer (32 bytes): the sponsor, which routes the write.
    public let writer: [UInt8]
    /// The writer's next sequence this write uses.
    public let sequence: UInt64
    /// When it stops being valid (ms since 1970).
    public let expiry: Int64
    /// The key set, ``keyLengths`` bytes.
    public let key: [UInt8]
    /// The value it is set to, ``valueLengths`` bytes.
    public let value: [UInt8]

    /// The length of a writer.
    public static let writerByteCount = 32
    /// The lengths a key may have.
    public static let keyLengths = 1...64
    /// The lengths a value may have.
    public static let valueLengths = 0...256

    /// A write from its parts; a writer, key or value of a length outside
    /// its bounds is a programming error and traps.
    public init(writer: [UInt8], sequence: UInt64, expiry: Int64, key: [UInt8], value: [UInt8]) {
        precondition(writer.count == Self.writerByteCount, "a writer is 32 bytes")
        precondition(Self.keyLengths.contains(key.count), "a key is 1...64 bytes")
        precondition(Self.valueLengths.contains(value.count), "a value is 0...256 bytes")
        self.writer = writer
        self.sequence = sequence
        self.expiry = expiry
        self.key = key
        self.value = value
    }

    /// The SHA-256 of the canonical encoding.
    public var id: KeyValueWriteID { try! KeyValueWriteID(bytes: Array(SHA256.hash(data: encoded()))) }
    /// The writer pays: writes are partitioned by it.
    public var sponsor: [UInt8] { writer }
    /// One unit of each: it reads, may allocate and writes one key.
    public var units: Dimensions { Dimensions(compute: 1, storageRead: 1, storageAllocate: 1, storageWrite: 1) }
}

extension KeyValueWrite: CanonicalValue {
    public static let formatVersion: UInt8 = 1
    public static let codecName: StaticString = "key-value write"

    /// The version byte, the writer, sequence and expiry, and the longest
    /// key and value with their lengths.
    public static func maxEncodedBytes(limits: DecodingLimits) -> Int {
        1 + writerByteCount + 8 + 8 + 4 + keyLengths.upperBound + 4 + valueLengths.upperBound
    }

    /// `writer (32) || sequence (u64) || expiry (i64) || key length (u32) ||
    /// key || value length (u32) || value`.
    public func encode(to writer: inout CanonicalWriter) {
        writer.writeRaw(self.writer)
        writer.write(sequence)
        writer.write(expiry)
        writer.writeLengthPrefixed(key)
        writer.writeLengthPrefixed(value)
    }

    /// Reads the body strictly: a key of 1...64 bytes and a value of at
    /// most 256, else a ``CodecError`` (`limitExceeded`) naming the field.
    public init(from reader: inout CanonicalReader) throws(CodecError) {
        let writer = try reader.readRaw(Self.writerByteCount, "writer")
        let sequence = try reader.readUInt64("sequence")
        let expiry = try reader.readInt64("expiry")
        let key = try reader.readLengthPrefixed("key", limit: Self.keyLengths.upperBound)
        guard Self.keyLengths.contains(key.count) else {
            throw reader.error(.limitExceeded, "key", "a key of \(key.count) bytes is outside \(Self.keyLengths)")
        }
        let value = try reader.readLengthPrefixed("value", limit: Self.valueLengths.upperBound)
        self.init(writer: writer, sequence: sequence, expiry: expiry, key: key, value: value)
    }
}
