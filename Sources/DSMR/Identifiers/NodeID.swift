/// A validator's identity: the first 20 bytes of the SHA-256 of its Ed25519 public key.
public struct NodeID: Identifier {
    @usableFromInline var value: Bytes20

    /// The number of bytes in a `NodeID`.
    public static let byteCount = 20
    /// The name used in error messages.
    public static let kind = "NodeID"
    /// All zero bytes.
    public static let zero = NodeID(value: .zero)

    @usableFromInline init(value: Bytes20) {
        self.value = value
    }

    init(_ raw: UnsafeRawBufferPointer) {
        value = Bytes20(raw)
    }

    /// Creates an identifier from exactly ``byteCount`` bytes.
    public init(bytes: some Collection<UInt8>) throws(IdentifierError) {
        value = try withExactBytes(bytes, count: Self.byteCount, kind: Self.kind) { Bytes20($0) }
    }

    /// Calls `body` with the identifier's bytes.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try value.withUnsafeBytes(body)
    }

    /// Bytewise order.
    public static func < (a: NodeID, b: NodeID) -> Bool { a.value < b.value }
}
