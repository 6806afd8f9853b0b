/// An identifier could not be made from the given bytes or text.
public struct IdentifierError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of identifier, for example `NodeID`.
    public let kind: String
    /// What was wrong.
    public let message: String

    /// Creates an error about an identifier of `kind`.
    public init(kind: String, message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(kind): \(message)" }
}
