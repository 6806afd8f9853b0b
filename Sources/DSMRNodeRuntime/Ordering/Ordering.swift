import DSMR

/// How a node learns the order of its blocks.
///
/// With none (`ordering: driver`), the node is driven over its control
/// socket: something outside asks it to build blocks and to accept them.
/// An ordering runs inside the node instead: it follows an ordered log of
/// blocks, hands each to ``OrderedChain/acceptOrdered(_:)``, and may
/// propose blocks of its own.
public protocol Ordering: Sendable {
    /// Follows (and proposes to) the ordered log until cancelled.
    func run(_ chain: any OrderedChain) async
}

/// What an ``Ordering`` needs of the node it orders for.
public protocol OrderedChain: Sendable {
    /// The chain's rules.
    var rules: Rules { get }
    /// This validator's node id.
    var nodeID: NodeID { get }
    /// This validator's place in the configured validator list.
    var validatorIndex: Int { get }
    /// The last accepted block.
    var lastAccepted: Block { get }
    /// The accepted block at `height`, if held.
    func acceptedBlock(at height: UInt64) throws -> Block?
    /// A block on the last accepted one at `timestamp`, of at most
    /// `maxBytes` encoded; nil when nothing may be built yet (no
    /// certificate, and less than a slot since the parent).
    func buildOrdered(timestamp: Int64, maxBytes: Int) throws -> Block?
    /// Verifies `block` against the last accepted block and accepts it.
    ///
    /// - Returns: ``OrderedOutcome/invalid(_:)`` for a block that does not
    ///   verify (or is not at the next height); a failure of the node
    ///   itself is thrown instead, so the block can be handed again.
    func acceptOrdered(_ block: Block) async throws -> OrderedOutcome
}

/// What became of a block handed to ``OrderedChain/acceptOrdered(_:)``.
public enum OrderedOutcome: Sendable, Hashable {
    /// It is the accepted block at its height now (or already was).
    case accepted
    /// It does not verify against the last accepted block; why.
    case invalid(String)
}
