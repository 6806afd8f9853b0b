import DSMR

/// Why the node could not do what it was asked.
public struct NodeError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public enum Code: Hashable, Sendable {
        /// This node is not a validator of the epoch.
        case notAValidator
        /// No signer of a certificate could serve its chunk: the block stays
        /// recorded and its execution is retried.
        case chunkUnavailable
        /// The block does not extend the last accepted block.
        case notChildOfLastAccepted
        /// The block's parent is not known to this node.
        case unknownParent
        /// No certificate could go into a block.
        case noAvailableCertificates
        /// The block's timestamp is not after its parent's.
        case timestampNotAfterParent
    }

    /// What kind of failure this is.
    public let code: Code
    /// Details.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
