/// A chunk's identity: the SHA-256 of the chunk's canonical signed encoding.
public struct ChunkID: Identifier {
    @usableFromInline var value: Bytes32

    /// The number of bytes in a `ChunkID`.
    public static let byteCount = 32
    /// The name used in error messages.
    public static let kind = "ChunkID"
    /// All zero bytes.
    public static let zero = ChunkID(value: .zero)

    @usableFromInline init(value: Bytes32) {
        self.value = value
    }

    init(_ raw: UnsafeRawBufferPointer) {
        value = Bytes32(raw)
    }

    /// Creates an identifier from exactly ``byteCount`` bytes.
    public init(bytes: some Collection<UInt8>) throws(IdentifierError) {
        value = try withExactBytes(bytes, count: Self.byteCount, kind: Self.kind) { Bytes32($0) }
    }

    /// Calls `body` with the identifier's bytes.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try value.withUnsafeBytes(body)
    }

    /// Bytewise order.
    public static func < (a: ChunkID, b: ChunkID) -> Bool { a.value < b.value }
}
