import DSMR
import DSMRNode
import NIOCore

extension TCPTransport {
    /// Each validator that completed a handshake with this node: what it
    /// did wrong, how often it was disconnected and banned, and what is left
    /// of its current ban. At most 1,024 peers (see <doc:NetworkTransport>).
    public func peerStatistics() -> [NodeID: PeerStatistics] {
        state.withLock { $0.scores.statistics(at: .now) }
    }

    /// The end of `peer`'s ban, if it is banned now.
    func banEnd(of peer: NodeID) -> ContinuousClock.Instant? {
        state.withLock { $0.scores.banEnd(of: peer, at: .now) }
    }

    /// Charges `peer` an offence found on `connection`, which is being
    /// closed for it: counts it, and when the peer is out of budget bans it
    /// and closes its other connections.
    func misbehaved(_ peer: NodeID, _ error: NetworkError, on connection: Connection) {
        charge(peer, closing: connection, reason: "\(error)") { statistics in
            statistics.disconnects += 1
            switch error.code {
            case .unsolicitedAnswer: break  // counted when it arrived
            default: statistics.malformedFrames += 1
            }
        }
    }

    /// Charges `peer` for what the node core found in a message it
    /// delivered (see `PeerOffence`): counts it, and when the peer is out of
    /// budget bans it and closes its connections. Within its budget the
    /// peer stays connected, so one stray message costs nothing more.
    public func penalize(_ peer: NodeID, for offence: PeerOffence) {
        charge(peer, closing: nil, reason: "\(offence)") { statistics in
            switch offence {
            case .invalidSignature: statistics.invalidSignatures += 1
            case .invalidMessage: statistics.invalidMessages += 1
            }
        }
    }

    /// Counts an offence of `peer` with `count`, takes it from the peer's
    /// budget, and once the budget is spent bans the peer and closes its
    /// connections other than `closing` (which the caller closes).
    private func charge(
        _ peer: NodeID, closing connection: Connection?, reason: String, count: (inout PeerStatistics) -> Void
    ) {
        let now = ContinuousClock.now
        let (banEnd, others) = state.withLock { state -> (ContinuousClock.Instant?, [Connection]) in
            state.scores.update(peer, at: now, count)
            guard let end = state.scores.offence(by: peer, at: now) else { return (nil, []) }
            state.statistics.bans += 1
            var others = state.inbound.values.filter { $0.peer == peer }.map(\.connection)
            if case .ready(let outbound) = state.links[peer] { others.append(outbound) }
            others.removeAll { $0 === connection || !$0.channel.isActive }
            state.scores.update(peer, at: now) { $0.disconnects += others.count }
            return (end, others)
        }
        guard let banEnd else { return }
        configuration.logger.warning(
            "banning peer",
            metadata: ["node": "\(local)", "peer": "\(peer)", "for": "\(banEnd - now)", "error": "\(reason)"])
        for other in others { other.channel.close(promise: nil) }
    }
}
