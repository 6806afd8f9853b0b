import DSMR
import DSMRNetwork
import Metrics
import Synchronization

/// The transport's counters as Prometheus metrics: each validator peer's
/// offences, disconnects and bans (labelled `peer`, the peer's node id in
/// hex), and the transport's totals. Read from ``TCPTransport`` every time
/// ``record(from:)`` runs; a count is added as the difference from the
/// last reading, so the counters only rise (a peer record the transport
/// dropped and made again counts from zero).
///
/// Peers are the validators that completed a handshake, so the labels are
/// bounded by the validator sets the node has known (the transport keeps
/// at most 1,024 peer records).
final class PeerMetrics: Sendable {
    private struct PeerCounters {
        let disconnects: Counter
        let unsolicitedAnswers: Counter
        let lateAnswers: Counter
        let malformedFrames: Counter
        let invalidSignatures: Counter
        let invalidMessages: Counter
        let backlogOverflows: Counter
        let bans: Counter
        let banRemaining: Gauge
        var last = PeerStatistics()

        init(peer: NodeID) {
            let label = [("peer", peer.hex)]
            disconnects = Counter(label: "dsmr_peer_disconnects_total", dimensions: label)
            unsolicitedAnswers = Counter(label: "dsmr_peer_unsolicited_answers_total", dimensions: label)
            lateAnswers = Counter(label: "dsmr_peer_late_answers_total", dimensions: label)
            malformedFrames = Counter(label: "dsmr_peer_malformed_frames_total", dimensions: label)
            invalidSignatures = Counter(label: "dsmr_peer_invalid_signatures_total", dimensions: label)
            invalidMessages = Counter(label: "dsmr_peer_invalid_messages_total", dimensions: label)
            backlogOverflows = Counter(label: "dsmr_peer_backlog_overflows_total", dimensions: label)
            bans = Counter(label: "dsmr_peer_bans_total", dimensions: label)
            banRemaining = Gauge(label: "dsmr_peer_ban_remaining_seconds", dimensions: label)
        }

        mutating func record(_ now: PeerStatistics) {
            func add(_ counter: Counter, _ value: Int, _ before: Int) {
                let delta = value >= before ? value - before : value
                if delta > 0 { counter.increment(by: delta) }
            }
            add(disconnects, now.disconnects, last.disconnects)
            add(unsolicitedAnswers, now.unsolicitedAnswers, last.unsolicitedAnswers)
            add(lateAnswers, now.lateAnswers, last.lateAnswers)
            add(malformedFrames, now.malformedFrames, last.malformedFrames)
            add(invalidSignatures, now.invalidSignatures, last.invalidSignatures)
            add(invalidMessages, now.invalidMessages, last.invalidMessages)
            add(backlogOverflows, now.backlogOverflows, last.backlogOverflows)
            add(bans, now.bans, last.bans)
            banRemaining.record(now.banRemaining.map { Double($0.components.seconds) } ?? 0)
            last = now
        }
    }

    private struct TransportCounters {
        let handshakesRefused = Counter(label: "dsmr_transport_handshakes_refused_total")
        let handshakesEvicted = Counter(label: "dsmr_transport_handshakes_evicted_total")
        let framesRefused = Counter(label: "dsmr_transport_frames_refused_total")
        let bans = Counter(label: "dsmr_transport_bans_total")
        let overloadedReplies = Counter(label: "dsmr_transport_overloaded_replies_total")
        let gossipDropped = Counter(label: "dsmr_transport_gossip_dropped_total")
        let requestsServed = Counter(label: "dsmr_transport_requests_served_total")
        let largestOutboundBacklog = Gauge(label: "dsmr_transport_largest_outbound_backlog_bytes")
        var last: TransportStatistics?

        mutating func record(_ now: TransportStatistics) {
            let last = self.last
            func add(_ counter: Counter, _ value: Int, _ before: Int?) {
                if value > before ?? 0 { counter.increment(by: value - (before ?? 0)) }
            }
            add(handshakesRefused, now.handshakesRefused, last?.handshakesRefused)
            add(handshakesEvicted, now.handshakesEvicted, last?.handshakesEvicted)
            add(framesRefused, now.framesRefused, last?.framesRefused)
            add(bans, now.bans, last?.bans)
            add(overloadedReplies, now.overloadedReplies, last?.overloadedReplies)
            add(gossipDropped, now.gossipDropped, last?.gossipDropped)
            add(requestsServed, now.requestsServed, last?.requestsServed)
            largestOutboundBacklog.record(now.largestOutboundBacklog)
            self.last = now
        }
    }

    private struct State {
        var peers: [NodeID: PeerCounters] = [:]
        var transport = TransportCounters()
    }

    private let state = Mutex(State())

    /// Reads `transport`'s statistics and brings the metrics up to them.
    func record(from transport: TCPTransport) {
        let peers = transport.peerStatistics()
        let totals = transport.statistics
        state.withLock { state in
            for (peer, statistics) in peers {
                state.peers[peer, default: PeerCounters(peer: peer)].record(statistics)
            }
            state.transport.record(totals)
        }
    }
}
