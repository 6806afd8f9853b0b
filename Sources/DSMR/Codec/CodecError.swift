/// Bytes are not the canonical encoding of a value.
///
/// The ``field`` is a path from the top-level value, for example
/// `chunk.transactions[3]`; the ``message`` says what was wrong with it.
public struct CodecError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure this is; compare with the static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case truncated, lengthExceedsRemaining, limitExceeded, trailingBytes, nonCanonical, unsupportedVersion
        }
        private let base: Base
        /// The input ended inside a fixed-size field.
        public static let truncated = Code(base: .truncated)
        /// A declared length or count needs more bytes than remain.
        public static let lengthExceedsRemaining = Code(base: .lengthExceedsRemaining)
        /// A length, a count or the whole input is larger than ``DecodingLimits`` allow.
        public static let limitExceeded = Code(base: .limitExceeded)
        /// Bytes remain after the value.
        public static let trailingBytes = Code(base: .trailingBytes)
        /// The value is well-formed but not in its one canonical form.
        public static let nonCanonical = Code(base: .nonCanonical)
        /// The leading version byte is not one this code reads.
        public static let unsupportedVersion = Code(base: .unsupportedVersion)

        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public let code: Code
    /// The path of the offending field, for example `block.certificates[0].signers`.
    public let field: String
    /// What was wrong with it.
    public let message: String

    /// Creates an error about `field`.
    public init(code: Code, field: String, message: String) {
        self.code = code
        self.field = field
        self.message = message
    }

    /// For example `chunk.transactions[3]: declared length 4294967295 exceeds remaining 12 bytes`.
    public var description: String { "\(field): \(message)" }
}
