import DSMR
import DSMRNode
import Synchronization

/// Submits a ``TransactionSource``'s transactions at a steady rate, each to
/// the validator the partition assigns its sponsor to, and tracks each one
/// until it executes or is known lost.
///
/// A transaction is lost when its node dies with it in the mempool, or its
/// chunk was never certified and it expired. Lanes with a transaction
/// pending too long are handed to the source, which says which of their
/// transactions can never execute (``lost(olderThan:chainTime:query:)``).
final class LoadGenerator: Sendable {
    struct Pending {
        let transaction: LoadTransaction
        let submitted: ContinuousClock.Instant
    }

    /// What happened to the transactions routed to one validator.
    struct RoutedLoad {
        var submitted = 0
        var executed = 0
        var lost = 0
        /// The longest latency from submission to execution.
        var slowest: Duration = .zero
    }

    struct State {
        var pending: [[UInt8]: Pending] = [:]
        /// By validator index (in the devnet's order), bounded by the validator count.
        var routed: [Int: RoutedLoad] = [:]
        var submitted = 0
        var executed = 0
        var lost = 0
        /// A uniform sample of at most ``LoadGenerator/maxLatencySamples`` latencies.
        var latencies: [Duration] = []
        /// Latencies seen since the sample was cleared.
        var latenciesSeen = 0
        var recent: [Duration] = []
        var round = 0
    }

    /// Where the transactions come from.
    let source: any TransactionSource
    /// Index of the validator (in the devnet's order) each lane's transactions go to.
    let assignment: [Int]
    let state = Mutex(State())

    init(source: any TransactionSource, validators: [NodeID], set: ValidatorSet) {
        self.source = source
        let index = Dictionary(uniqueKeysWithValues: validators.enumerated().map { ($1, $0) })
        assignment = (0..<source.laneCount).map { lane in
            index[TransactionPartition.validator(for: source.sponsor(ofLane: lane), in: set)] ?? 0
        }
    }

    /// Counts every transaction still pending as lost (nothing can execute
    /// it any more) and lets the source reuse their places.
    func abandonPending() {
        let abandoned = state.withLock { state in
            defer {
                state.lost += state.pending.count
                for pending in state.pending.values {
                    state.routed[assignment[pending.transaction.lane], default: .init()].lost += 1
                }
                state.pending = [:]
            }
            return state.pending.values.map(\.transaction)
        }
        source.abandon(abandoned)
    }

    /// Makes `count` transactions from lanes whose validator is in `live`,
    /// round-robin, and returns them by validator index.
    func make(count: Int, live: Set<Int>, now: Int64) -> [Int: [LoadTransaction]] {
        var batches: [Int: [LoadTransaction]] = [:]
        let lanes = source.laneCount
        guard !live.isEmpty, lanes > 0 else { return batches }
        var made = 0
        var tries = 0
        while made < count, tries < count * lanes {
            tries += 1
            let lane = state.withLock { state -> Int in
                defer { state.round += 1 }
                return state.round % lanes
            }
            let node = assignment[lane]
            guard live.contains(node), let transaction = source.next(lane: lane, now: now) else { continue }
            state.withLock { state in
                state.pending[transaction.digest] = Pending(transaction: transaction, submitted: .now)
                state.submitted += 1
                state.routed[node, default: .init()].submitted += 1
            }
            batches[node, default: []].append(transaction)
            made += 1
        }
        return batches
    }

    /// Has the source make, ahead, the next `count` transactions
    /// ``make(count:live:now:)`` would take, valid until `expiry`.
    func prepare(count: Int, expiry: Int64) {
        let round = state.withLock { $0.round }
        source.prepare(count: count, firstLane: round % max(source.laneCount, 1), expiry: expiry)
    }

    /// Records that the transactions with `digests` executed.
    func executed(_ digests: [[UInt8]]) {
        let now = ContinuousClock.now
        state.withLock { state in
            for digest in digests {
                guard let pending = state.pending.removeValue(forKey: digest) else { continue }
                state.executed += 1
                let latency = now - pending.submitted
                let node = assignment[pending.transaction.lane]
                state.routed[node, default: .init()].executed += 1
                state.routed[node, default: .init()].slowest = max(state.routed[node]?.slowest ?? .zero, latency)
                Self.sample(latency, into: &state)
                state.recent.append(latency)
            }
        }
    }

    /// Every pending transaction of the lanes with one pending longer than `age`.
    func stuck(olderThan age: Duration) -> [LoadTransaction] {
        let cutoff = ContinuousClock.now - age
        return state.withLock { state in
            let lanes = Set(state.pending.values.filter { $0.submitted < cutoff }.map(\.transaction.lane))
            return state.pending.values.map(\.transaction).filter { lanes.contains($0.lane) }
        }
    }

    /// Asks the source which transactions of lanes stuck longer than `age`
    /// can never execute; the caller counts them lost with ``forget(_:)``
    /// once it knows the state the source read is the one it should have.
    func lost(olderThan age: Duration, chainTime: Int64, query: StateQuery) async -> Set<[UInt8]> {
        let stuck = stuck(olderThan: age)
        guard !stuck.isEmpty else { return [] }
        return await source.lost(among: stuck, chainTime: chainTime, query: query)
    }

    /// Counts the pending transactions with `digests` as lost; returns how many were pending.
    @discardableResult
    func forget(_ digests: Set<[UInt8]>) -> Int {
        state.withLock { state in
            var count = 0
            for digest in digests {
                guard let pending = state.pending.removeValue(forKey: digest) else { continue }
                state.routed[assignment[pending.transaction.lane], default: .init()].lost += 1
                count += 1
            }
            state.lost += count
            return count
        }
    }

    /// Counts so far, and the latencies recorded since the last call.
    func snapshot() -> (submitted: Int, executed: Int, lost: Int, pending: Int, recent: [Duration]) {
        state.withLock { state in
            defer { state.recent = [] }
            return (state.submitted, state.executed, state.lost, state.pending.count, state.recent)
        }
    }

    /// What happened so far to the transactions routed to each validator, by index.
    var routed: [Int: RoutedLoad] { state.withLock { $0.routed } }

    /// Transactions submitted and neither executed nor lost.
    var pendingCount: Int { state.withLock { $0.pending.count } }

    /// The most latencies kept for the quantiles; past it they are a uniform
    /// sample (reservoir sampling), so a long run's memory stays bounded.
    static let maxLatencySamples = 1 << 20

    private static func sample(_ latency: Duration, into state: inout State) {
        state.latenciesSeen += 1
        if state.latencies.count < maxLatencySamples {
            state.latencies.append(latency)
        } else {
            let slot = Int.random(in: 0..<state.latenciesSeen)
            if slot < maxLatencySamples { state.latencies[slot] = latency }
        }
    }

    /// The latencies recorded since the last ``clearLatencies()`` (a uniform sample past ``maxLatencySamples``).
    var latencies: [Duration] { state.withLock { $0.latencies } }

    /// Forgets the latencies recorded so far.
    func clearLatencies() {
        state.withLock { state in
            state.latencies = []
            state.latenciesSeen = 0
            state.recent = []
        }
    }
}

/// The `fraction` quantile (0...1) of `values`, nil when there are none.
func quantile(_ values: [Duration], _ fraction: Double) -> Duration? {
    guard !values.isEmpty else { return nil }
    let sorted = values.sorted()
    let index = min(sorted.count - 1, max(0, Int((Double(sorted.count) * fraction).rounded(.up)) - 1))
    return sorted[index]
}
