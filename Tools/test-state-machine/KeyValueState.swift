import Crypto
import DSMR

/// What a ``KeyValueMachine`` holds: every key's value, and each writer's
/// next sequence, both in bytewise key order.
///
/// A writer appears once a write of its has applied, with a next sequence
/// of at least 1; one that never wrote has next sequence 0 and no entry.
struct KeyValueState: Hashable, Sendable {
    /// Every key's value.
    var entries = SortedByteMap<[UInt8]>()
    /// The next sequence of each writer that has written.
    var nextSequences = SortedByteMap<UInt64>()

    /// The empty state.
    init() {}

    /// A state holding `entries` (keys distinct and in bounds) and no writer.
    init(entries: [(key: [UInt8], value: [UInt8])]) {
        for (key, value) in entries { self.entries[key] = value }
    }

    /// The sequence `writer`'s next write must carry.
    func nextSequence(of writer: [UInt8]) -> UInt64 { nextSequences[writer] ?? 0 }

    /// Applies one encoded write at a block's `timestamp`, or skips it;
    /// returns whether it applied.
    ///
    /// It is skipped when it does not decode strictly, expired before
    /// `timestamp`, or carries a sequence other than its writer's next (or
    /// the writer's sequences are used up).
    mutating func apply(_ bytes: [UInt8], at timestamp: Int64) -> Bool {
        guard let write = try? KeyValueWrite(decoding: bytes), write.expiry >= timestamp else { return false }
        let next = nextSequence(of: write.writer)
        guard write.sequence == next, next < .max else { return false }
        entries[write.key] = write.value
        nextSequences[write.writer] = next + 1
        return true
    }

    /// The domain separator that starts the root's input.
    static let rootTag = Array("kv-root-v2".utf8)

    /// The state root: the SHA-256 of
    /// `"kv-root-v2" || entry count (u32) || for each key in order: key
    /// length (u16) || key || value length (u16) || value || writer count
    /// (u32) || for each writer in order: writer (32) || next sequence
    /// (u64)`, integers big-endian. The counts make the input a prefix-free
    /// encoding of the state: two states never hash the same input.
    ///
    /// Simple and obviously deterministic, at a cost linear in the state.
    func root() -> StateRoot {
        var hasher = SHA256()
        hasher.update(data: Self.rootTag)
        hasher.update(data: Self.bigEndian(UInt32(entries.keys.count)))
        for (key, value) in entries.pairs {
            hasher.update(data: Self.bigEndian(UInt16(key.count)))
            hasher.update(data: key)
            hasher.update(data: Self.bigEndian(UInt16(value.count)))
            hasher.update(data: value)
        }
        hasher.update(data: Self.bigEndian(UInt32(nextSequences.keys.count)))
        for (writer, next) in nextSequences.pairs {
            hasher.update(data: writer)
            hasher.update(data: Self.bigEndian(next))
        }
        return try! StateRoot(bytes: Array(hasher.finalize()))
    }

    private static func bigEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }
}

extension KeyValueState {
    /// Reads one entry, `key (u32 length, 1...64 bytes) || value (u32 length,
    /// 0...256 bytes)`, as the state file and snapshot pieces write it.
    static func readEntry(_ reader: inout CanonicalReader) throws(CodecError) -> (key: [UInt8], value: [UInt8]) {
        let key = try reader.readLengthPrefixed("key", limit: KeyValueWrite.keyLengths.upperBound)
        guard KeyValueWrite.keyLengths.contains(key.count) else {
            throw reader.error(
                .limitExceeded, "key", "a key of \(key.count) bytes is outside \(KeyValueWrite.keyLengths)")
        }
        let value = try reader.readLengthPrefixed("value", limit: KeyValueWrite.valueLengths.upperBound)
        return (key, value)
    }

    /// Reads one writer, `writer (32) || next sequence (u64, at least 1)`.
    static func readWriter(_ reader: inout CanonicalReader) throws(CodecError) -> (writer: [UInt8], next: UInt64) {
        let writer = try reader.readRaw(KeyValueWrite.writerByteCount, "writer")
        let next = try reader.readUInt64("next sequence")
        guard next >= 1 else {
            throw reader.error(
                .nonCanonical, "next sequence", "a writer that is held has written: its next sequence is at least 1")
        }
        return (writer, next)
    }

    /// The smallest encoding of an entry (empty value) and of a writer.
    static let minimumEntryBytes = 4 + 1 + 4
    static let writerBytes = KeyValueWrite.writerByteCount + 8
}
