/// What went wrong talking to etcd: the operation, what failed and why.
public struct EtcdError: Error, CustomStringConvertible, Sendable {
    /// The kind of failure, to match on.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// No endpoint answered within the tries allowed.
        public static let unreachable = Code("unreachable")
        /// An endpoint answered with an HTTP error status (etcd's error message attached).
        public static let status = Code("status")
        /// An answer was not the JSON etcd sends, or exceeded a bound.
        public static let malformed = Code("malformed")
        /// A watch was canceled by etcd (compaction or another reason).
        public static let watchCanceled = Code("watchCanceled")
        /// A read or compaction asked for a revision etcd compacted away.
        public static let compacted = Code("compacted")
        /// A bad argument given to the client (an endpoint, a key).
        public static let badArgument = Code("badArgument")
    }

    /// The kind of failure.
    public let code: Code
    /// What failed, on what.
    public let message: String
    /// For a watch canceled by compaction: the revision etcd compacted through.
    public var compactRevision: Int64?

    /// An error of `code` saying `message`.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "etcd \(code): \(message)" }
}
