/// Whether a node can do its work, and if not, why: reported in its status,
/// its metrics (`dsmr_health`) and on its metrics endpoint's `GET /health`.
public struct NodeHealth: Hashable, Sendable, CustomStringConvertible {
    /// How well the node works.
    public enum Condition: UInt8, Sendable, Comparable, CustomStringConvertible {
        /// Accepting, executing and writing as it should.
        case healthy = 0
        /// Running, but something it should do does not happen: blocks it
        /// cannot accept or execute (a damaged row, a block it cannot place,
        /// chunks it cannot fetch). It may come right by itself.
        case degraded = 1
        /// Its store cannot keep its promises (a failed write leaves its
        /// state on disk unknown): it signs nothing more and stops, exiting
        /// with ``NodeFailure/storeFailedExitCode``.
        case failing = 2

        public static func < (lhs: Condition, rhs: Condition) -> Bool { lhs.rawValue < rhs.rawValue }

        public var description: String {
            switch self {
            case .healthy: "healthy"
            case .degraded: "degraded"
            case .failing: "failing"
            }
        }
    }

    /// The worst condition of any of the node's areas.
    public var condition: Condition
    /// Why, one clause per area with a problem ("store: ..."); empty when healthy.
    public var cause: String

    /// A health from its parts.
    public init(condition: Condition, cause: String) {
        self.condition = condition
        self.cause = cause
    }

    /// A node with no problem.
    public static let healthy = NodeHealth(condition: .healthy, cause: "")

    public var description: String { cause.isEmpty ? "\(condition)" : "\(condition): \(cause)" }
}

/// The node stopped because it could not go on; its process exits with ``exitCode``.
public struct NodeFailure: Error, Sendable, CustomStringConvertible {
    /// The exit status of a node whose store failed (an I/O error or a full
    /// disk): 74, `EX_IOERR`. A supervisor restarts it; once the cause is
    /// gone it resumes from its store with nothing lost.
    public static let storeFailedExitCode: Int32 = 74

    /// The exit status of a node that cannot execute past a height whose
    /// block is beyond the catch-up horizon (`CatchUpHorizon`) while a
    /// peer offers a certified state above it: 75, `EX_TEMPFAIL`. A
    /// supervisor restarts it, and it comes back through state sync.
    public static let stateSyncNeededExitCode: Int32 = 75

    /// The process's exit status.
    public let exitCode: Int32
    /// What failed, with its cause.
    public let message: String

    public var description: String { message }
}
