import DSMR
import DSMRNode
import Dispatch
import Synchronization

/// A load of signed transfers: each funded account is a lane that sends one
/// token to the next account, nonce after nonce.
///
/// A lane whose transfer can never execute (lost with a validator that
/// died, or expired uncertified) blocks every later nonce of its account;
/// ``lost(among:chainTime:query:)`` reads the executed nonces and restarts
/// such an account at its executed nonce.
public final class TransferSource: TransactionSource {
    struct State {
        var nextNonce: [UInt64]
        /// Transfers signed ahead, by account, then nonce.
        var signed: [Int: [UInt64: LoadTransaction]] = [:]
    }

    /// The funded accounts' keys, one lane each.
    public let accounts: [Ed25519Signer]
    /// The chain's signing domain.
    public let domain: SigningDomain
    /// How long a transfer stays valid after it is made (ms).
    public let lifetime: Int64
    private let state: Mutex<State>

    /// A source over `accounts`.
    public init(accounts: [Ed25519Signer], domain: SigningDomain, lifetime: Int64) {
        self.accounts = accounts
        self.domain = domain
        self.lifetime = lifetime
        state = Mutex(State(nextNonce: [UInt64](repeating: 0, count: accounts.count)))
    }

    public var laneCount: Int { accounts.count }

    public func sponsor(ofLane lane: Int) -> [UInt8] { accounts[lane].publicKey }

    /// The nonce each account's next transfer takes.
    public var nextNonces: [UInt64] { state.withLock { $0.nextNonce } }

    public func next(lane: Int, now: Int64) -> LoadTransaction? {
        let (nonce, ahead) = state.withLock { state -> (UInt64, LoadTransaction?) in
            let nonce = state.nextNonce[lane]
            state.nextNonce[lane] += 1
            return (nonce, state.signed[lane]?.removeValue(forKey: nonce))
        }
        return ahead ?? sign(lane: lane, nonce: nonce, expiry: now + lifetime)
    }

    /// Signs, on every core, the transfers the next `count` round-robin
    /// picks from `firstLane` would make: signing is the clients' work, and
    /// done ahead it does not compete with the validators for the CPU.
    public func prepare(count: Int, firstLane: Int, expiry: Int64) {
        guard count > 0 else { return }
        let next = state.withLock { $0.nextNonce }
        let lanes = accounts.count
        let results = Mutex([Int: [UInt64: LoadTransaction]]())
        DispatchQueue.concurrentPerform(iterations: lanes) { lane in
            // How many of the `count` picks from `firstLane` on fall to this lane.
            let first = (lane - firstLane % lanes + lanes) % lanes
            let own = first < count ? (count - first + lanes - 1) / lanes : 0
            var made: [UInt64: LoadTransaction] = [:]
            for nonce in next[lane]..<(next[lane] + UInt64(own)) {
                if let transfer = sign(lane: lane, nonce: nonce, expiry: expiry) { made[nonce] = transfer }
            }
            results.withLock { $0[lane] = made }
        }
        let made = results.withLock { $0 }
        state.withLock { state in
            for (lane, transfers) in made { state.signed[lane, default: [:]].merge(transfers) { _, new in new } }
        }
    }

    /// Starts each account at the nonce its executed state has.
    public func synchronize(query: StateQuery) async throws {
        let nonces = try await executedNonces(of: Array(accounts.indices), query: query)
        startNonces(nonces)
    }

    /// Starts each account (in ``accounts`` order) at `nonces`, or later.
    public func startNonces(_ nonces: [UInt64]) {
        state.withLock { state in
            for (index, nonce) in nonces.enumerated() where index < state.nextNonce.count {
                state.nextNonce[index] = max(state.nextNonce[index], nonce)
            }
        }
    }

    /// Reads the executed nonce of each account with a pending transfer: one
    /// below it that never applied lost its nonce to another; an account
    /// whose next transfer expired before `chainTime` without executing lost
    /// it and everything after, and starts again at its executed nonce.
    public func lost(among pending: [LoadTransaction], chainTime: Int64, query: StateQuery) async -> Set<[UInt8]> {
        let lanes = Array(Set(pending.map(\.lane))).sorted()
        guard let nonces = try? await executedNonces(of: lanes, query: query) else { return [] }
        return resolve(
            pending: pending, executed: Dictionary(uniqueKeysWithValues: zip(lanes, nonces)), chainTime: chainTime)
    }

    /// ``lost(among:chainTime:query:)`` given the executed nonces by lane.
    public func resolve(pending: [LoadTransaction], executed: [Int: UInt64], chainTime: Int64) -> Set<[UInt8]> {
        var lost: Set<[UInt8]> = []
        let byLane = Dictionary(grouping: pending, by: \.lane)
        state.withLock { state in
            for (lane, executedNonce) in executed {
                let mine = byLane[lane] ?? []
                // Below the executed nonce but never seen applied: another transfer took that nonce.
                for transfer in mine where transfer.position < executedNonce { lost.insert(transfer.digest) }
                let waiting = mine.filter { $0.position >= executedNonce }
                let next = waiting.first { $0.position == executedNonce }
                let blocked = next.map { $0.expiry < chainTime } ?? !waiting.isEmpty
                guard blocked else { continue }
                for transfer in waiting { lost.insert(transfer.digest) }
                state.nextNonce[lane] = executedNonce
            }
        }
        return lost
    }

    /// Restarts each account at its lowest abandoned nonce.
    public func abandon(_ abandoned: [LoadTransaction]) {
        state.withLock { state in
            for transfer in abandoned {
                state.nextNonce[transfer.lane] = min(state.nextNonce[transfer.lane], transfer.position)
            }
        }
    }

    private func executedNonces(of lanes: [Int], query: StateQuery) async throws -> [UInt64] {
        let answer = try await query(DemoQuery.nonces(lanes.map { accounts[$0].publicKey }).encoded())
        return try DemoQuery.decodeNonces(answer, count: lanes.count)
    }

    private func sign(lane: Int, nonce: UInt64, expiry: Int64) -> LoadTransaction? {
        let recipient = accounts[(lane + 1) % accounts.count].publicKey
        guard
            let transfer = try? Transfer.sign(
                sender: accounts[lane], recipient: recipient, amount: 1, nonce: nonce, expiry: expiry, domain: domain)
        else { return nil }
        return LoadTransaction(
            digest: transfer.id.bytes, bytes: transfer.encoded(), sponsor: transfer.sender, expiry: expiry, lane: lane,
            position: nonce)
    }
}
