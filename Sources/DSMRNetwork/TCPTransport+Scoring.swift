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
        let now = ContinuousClock.now
        let (banEnd, others) = state.withLock { state -> (ContinuousClock.Instant?, [Connection]) in
            state.scores.update(peer, at: now) { statistics in
                statistics.disconnects += 1
                switch error.code {
                case .unsolicitedAnswer: break  // counted when it arrived
                default: statistics.malformedFrames += 1
                }
            }
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
            metadata: ["node": "\(local)", "peer": "\(peer)", "for": "\(banEnd - now)", "error": "\(error)"])
        for other in others { other.channel.close(promise: nil) }
    }
}
