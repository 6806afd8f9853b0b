import DSMR
import DSMRNode
import NIOCore

/// What a ``TCPTransport`` holds under its lock.
struct TransportState: ~Copyable {
    var handler: (any MessageHandler)?
    var addresses: [NodeID: PeerAddress] = [:]
    var links: [NodeID: Link] = [:]
    /// The pause before the next dial of each peer, doubled after each failure.
    var backoffs: [NodeID: Duration] = [:]
    var pending: [UInt64: PendingRequest] = [:]
    var nextRequestID: UInt64 = 1
    /// Requests and gossip of each peer being handled.
    var serving: [NodeID: Int] = [:]
    var servingTotal = 0
    /// Accepted connections, authenticated or not, by channel.
    var inbound: [ObjectIdentifier: any Channel] = [:]
    /// Accepted connections still in their handshake.
    var handshaking = 0
    /// Authenticated accepted connections of each peer.
    var inboundCount: [NodeID: Int] = [:]
    var shuttingDown = false
    var drainWaiters: [CheckedContinuation<Void, Never>] = []
    var statistics = TransportStatistics()

    /// Nothing being handled and nothing awaited.
    var isDrained: Bool { servingTotal == 0 && pending.isEmpty }

    /// The waiters to resume, once drained during shutdown.
    mutating func takeDrainWaiters() -> [CheckedContinuation<Void, Never>] {
        guard shuttingDown, isDrained else { return [] }
        defer { drainWaiters = [] }
        return drainWaiters
    }
}

/// The dialed connection to one peer.
enum Link {
    /// Dialing; the future succeeds once the handshake is done.
    case connecting(EventLoopFuture<any Channel>)
    /// Authenticated and open.
    case ready(any Channel)
    /// The last dial failed; the next waits until `until`.
    case failed(until: ContinuousClock.Instant, reason: String)
}

/// One of this node's requests waiting for its answer.
struct PendingRequest {
    let peer: NodeID
    let channel: ObjectIdentifier
    let continuation: CheckedContinuation<Result<[UInt8], TransportError>, Never>
    /// The request's timeout, cancelled when the answer comes first.
    var timer: Scheduled<Void>?
}
