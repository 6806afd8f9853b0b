import DSMR
import DSMRNode
import NIOCore

/// What a ``TCPTransport`` holds under its lock.
///
/// Every map keyed by something a peer chooses is bounded: ``handshakes``
/// by ``HandshakeSlots``; ``inbound`` by the handshake slots plus
/// ``TCPTransportConfiguration/maxConnectionsPerPeer`` per validator;
/// ``serving`` and ``inboundCount`` hold entries only for authenticated
/// validators with work or connections; ``scores`` by ``PeerScores/maxRecords``;
/// the ids in ``requests`` are this node's own, and each table's
/// timed-out ids by ``RequestTable/recentlyTimedOutBound``.
struct TransportState: ~Copyable {
    var handler: (any MessageHandler)?
    var addresses: [NodeID: PeerAddress] = [:]
    var links: [NodeID: Link] = [:]
    /// The pause before the next dial of each peer, doubled after each failure.
    var backoffs: [NodeID: Duration] = [:]
    /// This node's requests on each open dialed connection.
    var requests: [ObjectIdentifier: RequestTable] = [:]
    /// Requests waiting, over all connections.
    var pendingCount = 0
    /// Requests and gossip of each peer being handled; the peer's share of
    /// ``TCPTransportConfiguration/maxInFlightPerPeer``.
    var serving: [NodeID: Int] = [:]
    /// Requests and gossip being handled, and replies being written: what
    /// shutdown waits for.
    var servingTotal = 0
    /// Accepted connections, authenticated or not.
    var inbound: [ObjectIdentifier: Inbound] = [:]
    /// Accepted connections still in their handshake.
    var handshakes: HandshakeSlots<ObjectIdentifier, Connection>
    /// Authenticated accepted connections of each peer.
    var inboundCount: [NodeID: Int] = [:]
    /// Each validator's budget, ban and counters.
    var scores: PeerScores
    var shuttingDown = false
    var drainWaiters: [CheckedContinuation<Void, Never>] = []
    var statistics = TransportStatistics()

    init(_ configuration: TCPTransportConfiguration) {
        handshakes = HandshakeSlots(
            perAddress: configuration.maxPendingHandshakesPerAddress, shared: configuration.maxPendingHandshakes)
        scores = PeerScores(
            rules: PeerScores.Rules(
                budget: configuration.offenceBudget, refill: configuration.offenceRefill,
                initialBan: configuration.initialBan, maxBan: configuration.maxBan))
    }

    /// Nothing being handled or written, and nothing awaited.
    var isDrained: Bool { servingTotal == 0 && pendingCount == 0 }

    /// The waiters to resume, once drained during shutdown.
    mutating func takeDrainWaiters() -> [CheckedContinuation<Void, Never>] {
        guard shuttingDown, isDrained else { return [] }
        defer { drainWaiters = [] }
        return drainWaiters
    }

    /// How many configured validators listen at the source address `source`.
    func validators(at source: String) -> Int {
        addresses.values.filter { $0.source == source }.count
    }
}

/// The dialed connection to one peer.
enum Link {
    /// Dialing; the future succeeds once the handshake is done.
    case connecting(EventLoopFuture<Connection>)
    /// Authenticated and open.
    case ready(Connection)
    /// The last dial failed; the next waits until `until`.
    case failed(until: ContinuousClock.Instant, reason: String)
}

/// An accepted connection, and its peer once authenticated.
struct Inbound {
    let connection: Connection
    var peer: NodeID?
}

/// Where a peer listens.
struct PeerAddress: Sendable, Hashable {
    let host: String
    let port: Int
    /// The IP address `host` names, as connections from it show it; nil
    /// when it does not resolve.
    let source: String?
}
