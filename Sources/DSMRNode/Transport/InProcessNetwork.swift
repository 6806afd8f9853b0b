import DSMR
import Synchronization

/// Nodes in one process, connected through memory, with seeded faults:
/// lost, delayed (and so reordered) and duplicated messages, partitions and
/// crashed nodes.
///
/// Fault decisions come from `FaultPlan.decide(linkSeed:sequence:)` with a
/// seed per link derived from ``seed``, so a run replays from its seed.
package final class InProcessNetwork: Sendable {
    private struct State: ~Copyable {
        var handlers: [NodeID: any MessageHandler] = [:]
        var down: Set<NodeID> = []
        /// Group of each node while partitioned; nil when whole.
        var groups: [NodeID: Int]?
        /// Messages numbered so far per link: one entry per pair of this
        /// process's endpoints that talked, so bounded by the nodes a test
        /// or simulation makes (no remote peer reaches an in-process network).
        var sequences: [Link: UInt64] = [:]
        var plan: FaultPlan
        var counts = TrafficCounts()
        /// Offences reported by each node against each peer; bounded like `sequences`.
        var offences: [Link: [PeerOffence]] = [:]
    }

    private struct Link: Hashable {
        let from: NodeID
        let to: NodeID
    }

    /// The seed every fault decision derives from.
    package let seed: UInt64
    private let state: Mutex<State>

    /// A network injecting the faults of `plan`, drawn from `seed`.
    package init(seed: UInt64 = 0, faults plan: FaultPlan = .none) {
        self.seed = seed
        self.state = Mutex(State(plan: plan))
    }

    /// The endpoint of `node`.
    package func transport(for node: NodeID) -> InProcessTransport {
        InProcessTransport(local: node, network: self)
    }

    /// The offences `reporter`'s node core charged `peer` with, in order.
    package func offences(reportedBy reporter: NodeID, against peer: NodeID) -> [PeerOffence] {
        state.withLock { $0.offences[Link(from: reporter, to: peer)] ?? [] }
    }

    func recordOffence(_ offence: PeerOffence, by reporter: NodeID, against peer: NodeID) {
        state.withLock { $0.offences[Link(from: reporter, to: peer), default: []].append(offence) }
    }

    /// Replaces the fault plan (for example to stop faults and let a run settle).
    package func setFaults(_ plan: FaultPlan) { state.withLock { $0.plan = plan } }

    /// Takes `node` down: nothing reaches it and its own requests fail, until ``restart(_:)``.
    package func crash(_ node: NodeID) {
        state.withLock {
            $0.down.insert(node)
            $0.handlers[node] = nil
        }
    }

    /// Brings `node` back; it answers once it registers a handler again.
    package func restart(_ node: NodeID) { _ = state.withLock { $0.down.remove(node) } }

    /// Splits the nodes into `groups`; messages between groups are lost. A
    /// node in no group is cut off from all.
    package func partition(_ groups: [[NodeID]]) {
        var map: [NodeID: Int] = [:]
        for (index, group) in groups.enumerated() { for node in group { map[node] = index } }
        state.withLock { $0.groups = map }
    }

    /// Ends a partition.
    package func heal() { state.withLock { $0.groups = nil } }

    /// Messages carried, lost and duplicated so far.
    package var counts: TrafficCounts { state.withLock { $0.counts } }

    func register(_ handler: any MessageHandler, for node: NodeID) {
        state.withLock { if !$0.down.contains(node) { $0.handlers[node] = handler } }
    }

    /// The handler at `to` and the fate of one message from `from`, or nil
    /// when `to` cannot be reached at all.
    func route(from: NodeID, to: NodeID) -> (handler: any MessageHandler, decision: FaultDecision)? {
        state.withLock { state in
            guard let handler = state.handlers[to], let decision = fate(from: from, to: to, &state) else { return nil }
            return (handler, decision)
        }
    }

    /// The fate of an answer from `from` back to `to`, or nil when the way back is cut.
    func answerFate(from: NodeID, to: NodeID) -> FaultDecision? {
        state.withLock { state in fate(from: from, to: to, &state) }
    }

    private func fate(from: NodeID, to: NodeID, _ state: inout State) -> FaultDecision? {
        guard !state.down.contains(from), !state.down.contains(to) else { return nil }
        if let groups = state.groups, groups[from] == nil || groups[from] != groups[to] { return nil }
        let link = Link(from: from, to: to)
        let sequence = state.sequences[link, default: 0]
        state.sequences[link] = sequence + 1
        let decision = state.plan.decide(linkSeed: linkSeed(link), sequence: sequence)
        state.counts.messages += 1
        if decision.drop { state.counts.dropped += 1 }
        if decision.duplicate { state.counts.duplicated += 1 }
        return decision
    }

    private func linkSeed(_ link: Link) -> UInt64 {
        var value = seed
        for byte in link.from.bytes + link.to.bytes { value = (value ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return value
    }
}

/// How much traffic an ``InProcessNetwork`` carried and spoiled.
package struct TrafficCounts: Sendable, Hashable {
    /// Messages routed (requests, answers and gossip).
    package var messages = 0
    /// Messages lost by the fault plan.
    package var dropped = 0
    /// Messages delivered twice by the fault plan.
    package var duplicated = 0
}

/// One node's endpoint on an ``InProcessNetwork``.
package struct InProcessTransport: Transport {
    package let local: NodeID
    let network: InProcessNetwork

    package func register(_ handler: any MessageHandler) {
        network.register(handler, for: local)
    }

    /// Records the offence, for tests to read with ``InProcessNetwork/offences(reportedBy:against:)``.
    package func penalize(_ peer: NodeID, for offence: PeerOffence) {
        network.recordOffence(offence, by: local, against: peer)
    }

    package func request(
        _ request: [UInt8], to peer: NodeID, timeout: Duration
    ) async throws(TransportError)
        -> [UInt8]
    {
        guard let (handler, decision) = network.route(from: local, to: peer) else {
            throw TransportError(.unreachable, peer: peer, "\(peer) cannot be reached from \(local)")
        }
        let network = self.network
        let local = self.local
        let answer = await Race<[UInt8]>.first(within: timeout) {
            if decision.delay > .zero { try? await Task.sleep(for: decision.delay) }
            if decision.drop { return nil }
            if decision.duplicate { Task { _ = await handler.handleRequest(request, from: local) } }
            let response = await handler.handleRequest(request, from: local)
            // The answer travels back over the reverse link, with its own fate.
            guard let back = network.answerFate(from: peer, to: local) else { return nil }
            if back.delay > .zero { try? await Task.sleep(for: back.delay) }
            return back.drop ? nil : response
        }
        guard let answer else {
            throw TransportError(.timeout, peer: peer, "no answer from \(peer) within \(timeout)")
        }
        return answer
    }

    package func gossip(_ message: [UInt8], to peer: NodeID) async {
        guard let (handler, decision) = network.route(from: local, to: peer), !decision.drop else { return }
        let local = self.local
        Task {
            if decision.delay > .zero { try? await Task.sleep(for: decision.delay) }
            await handler.handleGossip(message, from: local)
            if decision.duplicate { await handler.handleGossip(message, from: local) }
        }
    }
}

/// The first of a value, a deadline and the caller's cancellation, without
/// waiting for the loser.
enum Race<Value: Sendable> {
    /// Runs `work` in a new task and returns its value, or nil when it gives
    /// nil, `timeout` passes first or the calling task is cancelled; `work`
    /// is cancelled then and may go on, unheeded.
    static func first(within timeout: Duration, _ work: @escaping @Sendable () async -> Value?) async -> Value? {
        let once = ResumeOnce<Value?>()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                once.arm(continuation)
                let worker = Task {
                    if let value = await work() { once.resume(value) }
                }
                let timer = Task {
                    try? await Task.sleep(for: timeout)
                    once.resume(nil)
                }
                once.onResume {
                    timer.cancel()
                    worker.cancel()
                }
            }
        } onCancel: {
            once.resume(nil)
        }
    }
}

/// A continuation resumed by whichever caller comes first; later calls do
/// nothing. A resume that comes before the continuation is armed is kept
/// and delivered when it is.
final class ResumeOnce<Value: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Value, Never>?
        /// The value of a resume that came before ``arm(_:)``.
        var early: Value?
        var resumed = false
        var cleanup: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())

    func arm(_ continuation: CheckedContinuation<Value, Never>) {
        let early = state.withLock { state -> Value? in
            guard state.resumed else {
                state.continuation = continuation
                return nil
            }
            defer { state.early = nil }
            return state.early
        }
        if let early { continuation.resume(returning: early) }
    }

    /// Runs `body` once the continuation has been resumed (at once if it has).
    func onResume(_ body: @escaping @Sendable () -> Void) {
        let now = state.withLock { state -> Bool in
            if state.resumed { return true }
            state.cleanup = body
            return false
        }
        if now { body() }
    }

    func resume(_ value: Value) {
        let (continuation, cleanup) = state.withLock {
            state -> (CheckedContinuation<Value, Never>?, (@Sendable () -> Void)?) in
            guard !state.resumed else { return (nil, nil) }
            state.resumed = true
            if state.continuation == nil { state.early = value }
            defer {
                state.continuation = nil
                state.cleanup = nil
            }
            return (state.continuation, state.cleanup)
        }
        continuation?.resume(returning: value)
        cleanup?()
    }
}
