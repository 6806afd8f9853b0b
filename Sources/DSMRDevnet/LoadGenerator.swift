import DSMRNodeRuntime
import DSMR
import DSMRNode
import DemoVM
import Dispatch
import Synchronization

/// Signs DemoVM transfers between the devnet's funded accounts at a steady
/// rate, sends each to the validator the partition assigns its sender to,
/// and tracks each one until it executes or is known lost.
///
/// A transfer is lost when its node dies with it in the mempool, or its
/// chunk was never certified: it then expires (chain time passes its
/// expiry) without executing, and every later transfer of its sender is
/// stuck behind its nonce. ``reconcile(nonces:chainTime:)`` finds such
/// senders from the executed nonces and restarts them at the executed nonce.
final class LoadGenerator: Sendable {
    struct Pending {
        let sender: Int
        let nonce: UInt64
        let expiry: Int64
        let submitted: ContinuousClock.Instant
    }

    /// A transfer signed ahead of time, waiting for its sender to reach its nonce.
    struct Signed {
        let digest: [UInt8]
        let bytes: [UInt8]
        let expiry: Int64
    }

    struct State {
        var nextNonce: [UInt64]
        var pending: [[UInt8]: Pending] = [:]
        var pendingBySender: [Int: Set<UInt64>] = [:]
        var submitted = 0
        var executed = 0
        var lost = 0
        /// A uniform sample of at most ``LoadGenerator/maxLatencySamples`` latencies.
        var latencies: [Duration] = []
        /// Latencies seen since the sample was cleared.
        var latenciesSeen = 0
        var recent: [Duration] = []
        var round = 0
        /// Transfers signed ahead, by sender, then nonce.
        var signed: [Int: [UInt64: Signed]] = [:]
    }

    let accounts: [Ed25519Signer]
    let domain: SigningDomain
    let set: ValidatorSet
    /// Index of the validator (in the devnet's order) each account's transfers go to.
    let assignment: [Int]
    /// How long a transfer stays valid after it is signed (ms).
    let lifetime: Int64
    let state: Mutex<State>

    init(accounts: [Ed25519Signer], validators: [NodeID], set: ValidatorSet, domain: SigningDomain, lifetime: Int64) {
        self.accounts = accounts
        self.domain = domain
        self.set = set
        self.lifetime = lifetime
        let index = Dictionary(uniqueKeysWithValues: validators.enumerated().map { ($1, $0) })
        assignment = accounts.map { index[TransactionPartition.validator(for: $0.publicKey, in: set)] ?? 0 }
        state = Mutex(State(nextNonce: [UInt64](repeating: 0, count: accounts.count)))
    }

    /// Starts each account (in ``accounts`` order) at the nonce its state has executed.
    func startNonces(_ nonces: [UInt64]) {
        state.withLock { state in
            for (index, nonce) in nonces.enumerated() where index < state.nextNonce.count {
                state.nextNonce[index] = max(state.nextNonce[index], nonce)
            }
        }
    }

    /// Counts every transfer still pending as lost (nothing can execute it
    /// any more) and restarts its sender at its lowest pending nonce.
    func abandonPending() {
        state.withLock { state in
            for pending in state.pending.values {
                state.nextNonce[pending.sender] = min(state.nextNonce[pending.sender], pending.nonce)
            }
            state.lost += state.pending.count
            state.pending = [:]
            state.pendingBySender = [:]
        }
    }

    /// Signs `count` transfers from accounts whose validator is in `live`,
    /// round-robin, and returns them by validator index.
    func make(count: Int, live: Set<Int>, now: Int64) -> [Int: [(digest: [UInt8], bytes: [UInt8])]] {
        var batches: [Int: [(digest: [UInt8], bytes: [UInt8])]] = [:]
        guard !live.isEmpty else { return batches }
        var made = 0
        var tries = 0
        while made < count, tries < count * accounts.count {
            tries += 1
            let sender = state.withLock { state -> Int in
                defer { state.round += 1 }
                return state.round % accounts.count
            }
            let node = assignment[sender]
            guard live.contains(node) else { continue }
            let nonce = state.withLock { state -> UInt64 in
                defer { state.nextNonce[sender] += 1 }
                return state.nextNonce[sender]
            }
            let ahead = state.withLock { $0.signed[sender]?.removeValue(forKey: nonce) }
            guard let transfer = ahead ?? sign(sender: sender, nonce: nonce, expiry: now + lifetime) else { continue }
            state.withLock { state in
                state.pending[transfer.digest] = Pending(
                    sender: sender, nonce: nonce, expiry: transfer.expiry, submitted: .now)
                state.pendingBySender[sender, default: []].insert(nonce)
                state.submitted += 1
            }
            batches[node, default: []].append((transfer.digest, transfer.bytes))
            made += 1
        }
        return batches
    }

    /// Signs, on every core, the next `count` transfers ``make(count:live:now:)``
    /// would make (round-robin over every account, from each one's next
    /// nonce), valid until `expiry`, and keeps them for it: signing is the
    /// clients' work, and done ahead it does not compete with the validators
    /// for the CPU. A transfer made later at a nonce signed ahead uses it.
    func signAhead(count: Int, expiry: Int64) {
        guard count > 0 else { return }
        let (round, next) = state.withLock { ($0.round, $0.nextNonce) }
        let senders = accounts.count
        let results = Mutex([Int: [UInt64: Signed]]())
        DispatchQueue.concurrentPerform(iterations: senders) { sender in
            // The senders `count` transfers from `round` on go to, and how many each.
            let first = (sender - round % senders + senders) % senders
            let own = first < count ? (count - first + senders - 1) / senders : 0
            var made: [UInt64: Signed] = [:]
            for nonce in next[sender]..<(next[sender] + UInt64(own)) {
                if let transfer = sign(sender: sender, nonce: nonce, expiry: expiry) { made[nonce] = transfer }
            }
            results.withLock { $0[sender] = made }
        }
        let made = results.withLock { $0 }
        state.withLock { state in
            for (sender, transfers) in made { state.signed[sender, default: [:]].merge(transfers) { _, new in new } }
        }
    }

    private func sign(sender: Int, nonce: UInt64, expiry: Int64) -> Signed? {
        let recipient = accounts[(sender + 1) % accounts.count].publicKey
        guard
            let transfer = try? Transfer.sign(
                sender: accounts[sender], recipient: recipient, amount: 1, nonce: nonce, expiry: expiry, domain: domain)
        else { return nil }
        return Signed(digest: transfer.id.bytes, bytes: transfer.encoded(), expiry: expiry)
    }

    /// Records that the transactions with `digests` executed.
    func executed(_ digests: [[UInt8]]) {
        let now = ContinuousClock.now
        state.withLock { state in
            for digest in digests {
                guard let pending = state.pending.removeValue(forKey: digest) else { continue }
                state.pendingBySender[pending.sender]?.remove(pending.nonce)
                state.executed += 1
                let latency = now - pending.submitted
                Self.sample(latency, into: &state)
                state.recent.append(latency)
            }
        }
    }

    /// The senders with a transfer pending longer than `age`.
    func stuckSenders(olderThan age: Duration) -> [Int] {
        let cutoff = ContinuousClock.now - age
        return state.withLock { state in
            Array(Set(state.pending.values.filter { $0.submitted < cutoff }.map(\.sender))).sorted()
        }
    }

    /// Given the executed nonce of each sender in `nonces`: transfers below
    /// it that were never seen applied lost their nonce to another; a sender whose next transfer
    /// expired before `chainTime` without executing lost it and everything
    /// after it, and starts again at the executed nonce. Returns how many were lost.
    @discardableResult
    func reconcile(nonces: [Int: UInt64], chainTime: Int64) -> Int {
        state.withLock { state in
            var lost = 0
            for (sender, executedNonce) in nonces {
                let mine = state.pending.filter { $0.value.sender == sender }
                // Below the executed nonce but never seen applied: another
                // transfer took that nonce (only applied digests count as executed).
                for (digest, pending) in mine where pending.nonce < executedNonce {
                    state.pending.removeValue(forKey: digest)
                    lost += 1
                }
                let waiting = mine.filter { $0.value.nonce >= executedNonce }
                let next = waiting.first { $0.value.nonce == executedNonce }
                let blocked = next.map { $0.value.expiry < chainTime } ?? !waiting.isEmpty
                guard blocked else {
                    state.pendingBySender[sender] = Set(waiting.map(\.value.nonce))
                    continue
                }
                for digest in waiting.keys { state.pending.removeValue(forKey: digest) }
                lost += waiting.count
                state.pendingBySender[sender] = []
                state.nextNonce[sender] = executedNonce
            }
            state.lost += lost
            return lost
        }
    }

    /// Counts so far, and the latencies recorded since the last call.
    func snapshot() -> (submitted: Int, executed: Int, lost: Int, pending: Int, recent: [Duration]) {
        state.withLock { state in
            defer { state.recent = [] }
            return (state.submitted, state.executed, state.lost, state.pending.count, state.recent)
        }
    }

    /// Transfers submitted and neither executed nor lost.
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
