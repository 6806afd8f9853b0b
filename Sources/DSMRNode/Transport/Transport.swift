import DSMR

/// Moves encoded ``NodeMessage``s between nodes: requests with a response
/// and a timeout, and one-way gossip. The node never depends on which
/// transport carries them.
public protocol Transport: Sendable {
    /// The node this endpoint belongs to.
    var local: NodeID { get }

    /// Sends `request` to `peer` and waits at most `timeout` for its answer.
    ///
    /// - Throws: ``TransportError`` when the peer cannot be reached or does
    ///   not answer in time (a lost message looks like a timeout).
    func request(_ request: [UInt8], to peer: NodeID, timeout: Duration) async throws(TransportError) -> [UInt8]

    /// Sends `message` to `peer` without waiting for anything; it may be lost.
    func gossip(_ message: [UInt8], to peer: NodeID) async

    /// Makes `handler` answer the requests and gossip that reach this node,
    /// replacing the one registered before.
    func register(_ handler: any MessageHandler)

    /// Tells the transport that `peer` sent something no honest validator
    /// sends. A transport that scores its peers charges it (and may
    /// disconnect and ban the peer); the default does nothing.
    func penalize(_ peer: NodeID, for offence: PeerOffence)
}

/// What a node runs for the messages that reach it.
public protocol MessageHandler: Sendable {
    /// The encoded answer to the encoded request `request` from `peer`.
    func handleRequest(_ request: [UInt8], from peer: NodeID) async -> [UInt8]
    /// Takes in the encoded one-way message `message` from `peer`.
    func handleGossip(_ message: [UInt8], from peer: NodeID) async
}

/// A request got no answer.
public struct TransportError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Why there is no answer.
    public enum Code: Hashable, Sendable {
        /// No answer arrived in time: the request or its answer was lost, or
        /// the peer is slow.
        case timeout
        /// The peer is known to be down or unreachable (crashed, partitioned
        /// away, never registered), or this node itself is down.
        case unreachable
    }

    /// Why there is no answer.
    public let code: Code
    /// The peer asked.
    public let peer: NodeID
    /// Details.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, peer: NodeID, _ message: String) {
        self.code = code
        self.peer = peer
        self.message = message
    }

    public var description: String { "request to \(peer): \(message)" }
}
