/// A fixed-size binary identifier: a node, a chunk, a block or a chain.
///
/// Identifiers compare bytewise, hash cheaply and print as lowercase hex.
public protocol Identifier: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The number of bytes in every value of this type.
    static var byteCount: Int { get }

    /// A name for this kind of identifier, used in error messages.
    static var kind: String { get }

    /// Creates an identifier from exactly ``byteCount`` bytes.
    ///
    /// - Throws: ``IdentifierError`` when the count is wrong.
    init(bytes: some Collection<UInt8>) throws(IdentifierError)

    /// Calls `body` with the identifier's bytes, without copying them to the heap.
    func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R
}

extension Identifier {
    /// The identifier's bytes.
    public var bytes: [UInt8] {
        withUnsafeBytes { Array($0) }
    }

    /// The identifier as lowercase hex, two characters per byte.
    public var hex: String {
        withUnsafeBytes { Hex.encode($0) }
    }

    /// The lowercase hex form.
    public var description: String { hex }

    /// Parses the hex form (upper or lower case, exactly two characters per byte).
    ///
    /// - Throws: ``IdentifierError`` on a wrong length or a non-hex character.
    public init(hex: some StringProtocol) throws(IdentifierError) {
        guard let bytes = Hex.decode(hex) else {
            throw IdentifierError(kind: Self.kind, message: "not a hex string: \"\(hex.prefix(80))\"")
        }
        try self.init(bytes: bytes)
    }
}
