/// A key could not be created, read or written.
public struct KeyError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure this is; compare with the static members.
    public struct Code: Hashable, Sendable {
        private enum Base: Hashable, Sendable {
            case invalidKey, malformedFile, notRegularFile, insecurePermissions, io, signing
        }
        private let base: Base
        /// The key bytes are not a valid key of the scheme.
        public static let invalidKey = Code(base: .invalidKey)
        /// The key file is not in the expected format.
        public static let malformedFile = Code(base: .malformedFile)
        /// The key file is a symbolic link, FIFO, directory, device or socket.
        public static let notRegularFile = Code(base: .notRegularFile)
        /// The key file is owned by another user, or group or others can access it.
        public static let insecurePermissions = Code(base: .insecurePermissions)
        /// The file system reported an error.
        public static let io = Code(base: .io)
        /// The signing operation failed.
        public static let signing = Code(base: .signing)
    }

    /// What kind of failure this is.
    public let code: Code
    /// What failed, on what, and what to do.
    public let message: String

    /// Creates an error.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
