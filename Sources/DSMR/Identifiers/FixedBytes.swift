/// Twenty bytes held inline as machine words, in byte order in memory.
@usableFromInline
struct Bytes20: Hashable, Sendable {
    @usableFromInline var storage: (UInt64, UInt64, UInt32)

    static let zero = Bytes20(storage: (0, 0, 0))

    private init(storage: (UInt64, UInt64, UInt32)) {
        self.storage = storage
    }

    /// `bytes` must hold exactly 20 bytes.
    init(_ bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count == 20)
        storage = (
            bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self),
            bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
            bytes.loadUnaligned(fromByteOffset: 16, as: UInt32.self)
        )
    }

    func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        var copy = storage
        return try Swift.withUnsafeBytes(of: &copy) { (raw) throws(E) -> R in
            try body(UnsafeRawBufferPointer(rebasing: raw[0..<20]))
        }
    }

    @usableFromInline static func == (a: Bytes20, b: Bytes20) -> Bool {
        a.storage.0 == b.storage.0 && a.storage.1 == b.storage.1 && a.storage.2 == b.storage.2
    }

    @usableFromInline func hash(into hasher: inout Hasher) {
        hasher.combine(storage.0)
        hasher.combine(storage.1)
        hasher.combine(storage.2)
    }

    /// Bytewise (lexicographic) order.
    @usableFromInline static func < (a: Bytes20, b: Bytes20) -> Bool {
        if a.storage.0 != b.storage.0 { return a.storage.0.bigEndian < b.storage.0.bigEndian }
        if a.storage.1 != b.storage.1 { return a.storage.1.bigEndian < b.storage.1.bigEndian }
        return a.storage.2.bigEndian < b.storage.2.bigEndian
    }
}

/// Thirty-two bytes held inline as machine words, in byte order in memory.
@usableFromInline
struct Bytes32: Hashable, Sendable {
    @usableFromInline var storage: (UInt64, UInt64, UInt64, UInt64)

    static let zero = Bytes32(storage: (0, 0, 0, 0))

    private init(storage: (UInt64, UInt64, UInt64, UInt64)) {
        self.storage = storage
    }

    /// `bytes` must hold exactly 32 bytes.
    init(_ bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count == 32)
        storage = (
            bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self),
            bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
            bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self),
            bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
        )
    }

    func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        var copy = storage
        return try Swift.withUnsafeBytes(of: &copy) { (raw) throws(E) -> R in try body(raw) }
    }

    @usableFromInline static func == (a: Bytes32, b: Bytes32) -> Bool {
        a.storage.0 == b.storage.0 && a.storage.1 == b.storage.1
            && a.storage.2 == b.storage.2 && a.storage.3 == b.storage.3
    }

    @usableFromInline func hash(into hasher: inout Hasher) {
        hasher.combine(storage.0)
        hasher.combine(storage.1)
        hasher.combine(storage.2)
        hasher.combine(storage.3)
    }

    /// Bytewise (lexicographic) order.
    @usableFromInline static func < (a: Bytes32, b: Bytes32) -> Bool {
        if a.storage.0 != b.storage.0 { return a.storage.0.bigEndian < b.storage.0.bigEndian }
        if a.storage.1 != b.storage.1 { return a.storage.1.bigEndian < b.storage.1.bigEndian }
        if a.storage.2 != b.storage.2 { return a.storage.2.bigEndian < b.storage.2.bigEndian }
        return a.storage.3.bigEndian < b.storage.3.bigEndian
    }
}

/// Copies a collection of exactly `count` bytes into inline storage, or throws.
@inline(__always)
func withExactBytes<R>(
    _ bytes: some Collection<UInt8>, count: Int, kind: String,
    _ body: (UnsafeRawBufferPointer) -> R
) throws(IdentifierError) -> R {
    guard bytes.count == count else {
        throw IdentifierError(kind: kind, message: "expected \(count) bytes, got \(bytes.count)")
    }
    if let result = bytes.withContiguousStorageIfAvailable({ body(UnsafeRawBufferPointer($0)) }) {
        return result
    }
    return Array(bytes).withUnsafeBytes(body)
}
