/// A validator set could not be formed.
public struct ValidatorSetError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure this is; compare with the static members.
    public struct Code: Hashable, Sendable {
        private enum Base: Hashable, Sendable { case empty, duplicate, zeroWeight, weightOverflow, keyMismatch }
        private let base: Base
        /// The set has no validators.
        public static let empty = Code(base: .empty)
        /// Two validators have the same node id.
        public static let duplicate = Code(base: .duplicate)
        /// A validator has no stake.
        public static let zeroWeight = Code(base: .zeroWeight)
        /// The weights sum past `UInt64.max`.
        public static let weightOverflow = Code(base: .weightOverflow)
        /// A node id is not the one its public key derives.
        public static let keyMismatch = Code(base: .keyMismatch)
    }

    /// What kind of failure this is.
    public let code: Code
    /// What failed, naming the validator.
    public let message: String

    /// Creates an error.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "validator set: \(message)" }
}
