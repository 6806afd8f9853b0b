/// Writes the canonical binary form: big-endian fixed-width integers and
/// byte strings prefixed with a big-endian `UInt32` length.
public struct CanonicalWriter: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8]

    /// An empty writer with room for `capacity` bytes.
    public init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Writes one byte.
    public mutating func write(_ value: UInt8) {
        bytes.append(value)
    }

    /// Writes a big-endian `UInt32`.
    public mutating func write(_ value: UInt32) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    /// Writes a big-endian `UInt64`.
    public mutating func write(_ value: UInt64) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    /// Writes the two's-complement bit pattern as a big-endian `UInt64`.
    public mutating func write(_ value: Int64) {
        write(UInt64(bitPattern: value))
    }

    /// Writes an identifier's bytes, without a length.
    public mutating func write(_ id: some Identifier) {
        id.withUnsafeBytes { bytes.append(contentsOf: $0) }
    }

    /// Writes bytes as they are, without a length.
    public mutating func writeRaw(_ raw: some Sequence<UInt8>) {
        bytes.append(contentsOf: raw)
    }

    /// Writes a `UInt32` length, then the bytes.
    ///
    /// Values keep their byte strings shorter than 2^32 (their initialisers
    /// check); a longer one here is a programming error and traps.
    public mutating func writeLengthPrefixed(_ raw: some Collection<UInt8>) {
        writeCount(raw.count)
        bytes.append(contentsOf: raw)
    }

    /// Writes a count or length as a `UInt32`; traps if it does not fit.
    public mutating func writeCount(_ count: Int) {
        guard let value = UInt32(exactly: count) else {
            preconditionFailure("count \(count) does not fit in UInt32")
        }
        write(value)
    }
}
