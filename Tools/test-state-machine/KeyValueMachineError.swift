/// The key-value machine could not do what it was asked.
///
/// Compare ``code`` with the static codes
/// (`catch let error as KeyValueMachineError where error.code == .damagedState`);
/// the ``message`` says what failed, on what, and what to do.
public struct KeyValueMachineError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure this is; compare with the static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case damagedState, io, wrongHeight, wrongParentRoot
        }
        private let base: Base
        /// The state file is not a whole, intact state (a bad checksum, an
        /// unknown version, entries out of order, a root that does not match).
        public static let damagedState = Code(base: .damagedState)
        /// A system call on the state's files failed.
        public static let io = Code(base: .io)
        /// Asked to execute a height other than the next (or the last again).
        public static let wrongHeight = Code(base: .wrongHeight)
        /// Asked to execute on a parent root that is not the state's.
        public static let wrongParentRoot = Code(base: .wrongParentRoot)

        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public let code: Code
    /// What failed, on what.
    public let message: String

    /// An error of `code` described by `message`.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// For example `key-value machine: damagedState: /d/state.kv: checksum mismatch`.
    public var description: String { "key-value machine: \(code): \(message)" }
}
