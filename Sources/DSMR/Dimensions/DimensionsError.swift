/// Arithmetic on ``Dimensions`` overflowed, or a text form could not be parsed.
public struct DimensionsError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure this is; compare with the static members.
    public struct Code: Hashable, Sendable {
        private enum Base: Hashable, Sendable { case overflow, malformed }
        private let base: Base
        /// A sum or product does not fit in `UInt64`.
        public static let overflow = Code(base: .overflow)
        /// The JSON or binary form is not exactly the canonical one.
        public static let malformed = Code(base: .malformed)
    }

    /// What kind of failure this is.
    public let code: Code
    /// What failed, naming the dimension or the offending input.
    public let message: String

    /// Creates an error.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "Dimensions: \(message)" }
}
