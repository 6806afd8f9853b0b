/// Writes a row's fixed-width, big-endian fields, in order. Every row and key
/// type encodes itself with one of these, so byte order (numeric order for
/// keys) is decided in one place.
package struct RowWriter {
    package private(set) var bytes: [UInt8] = []

    package init(capacity: Int) { bytes.reserveCapacity(capacity) }

    package mutating func uint8(_ value: UInt8) { bytes.append(value) }

    package mutating func uint32(_ value: UInt32) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    package mutating func uint64(_ value: UInt64) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    package mutating func int64(_ value: Int64) { uint64(UInt64(bitPattern: value)) }

    package mutating func bytes(_ value: some Sequence<UInt8>) { bytes.append(contentsOf: value) }
}

/// Reads a row's fields in order and never past its end: a short row is a
/// `corruptRecord` error naming the row, not an out-of-bounds read.
package struct RowReader {
    private let buffer: UnsafeRawBufferPointer
    private let what: String
    private(set) var offset = 0

    /// A reader over `buffer`, which holds `what` (named in errors).
    package init(_ buffer: UnsafeRawBufferPointer, _ what: String) {
        self.buffer = buffer
        self.what = what
    }

    /// Throws unless `buffer` has exactly `size` bytes.
    package static func expect(_ buffer: UnsafeRawBufferPointer, size: Int, _ what: String) throws {
        guard buffer.count == size else {
            throw ChunkStoreError(.corruptRecord, "\(what) has \(buffer.count) bytes, not \(size)")
        }
    }

    /// Throws unless `buffer` has at least `size` bytes.
    package static func expect(_ buffer: UnsafeRawBufferPointer, atLeast size: Int, _ what: String) throws {
        guard buffer.count >= size else {
            throw ChunkStoreError(.corruptRecord, "\(what) has \(buffer.count) bytes, fewer than \(size)")
        }
    }

    package var remaining: Int { buffer.count - offset }

    package mutating func bytes(_ count: Int) throws -> UnsafeRawBufferPointer {
        guard count >= 0, count <= remaining else {
            throw ChunkStoreError(
                .corruptRecord, "\(what) of \(buffer.count) bytes ends inside a field at byte \(offset)")
        }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + count])
    }

    package mutating func uint8() throws -> UInt8 { try bytes(1)[0] }

    package mutating func uint32() throws -> UInt32 {
        UInt32(bigEndian: try bytes(4).loadUnaligned(as: UInt32.self))
    }

    package mutating func uint64() throws -> UInt64 {
        UInt64(bigEndian: try bytes(8).loadUnaligned(as: UInt64.self))
    }

    package mutating func int64() throws -> Int64 { Int64(bitPattern: try uint64()) }

    /// Everything not read yet.
    package mutating func rest() -> UnsafeRawBufferPointer {
        defer { offset = buffer.count }
        return UnsafeRawBufferPointer(rebasing: buffer[offset...])
    }

    /// Throws when bytes are left over.
    package func finish() throws {
        guard remaining == 0 else {
            throw ChunkStoreError(.corruptRecord, "\(what) has \(remaining) bytes after its last field")
        }
    }
}
