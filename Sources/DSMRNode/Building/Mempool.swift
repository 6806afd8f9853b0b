import Crypto
import DSMR
import Synchronization

/// A transaction waiting for a chunk, with what the builder needs to know
/// of it without decoding it.
public struct PendingTransaction: Hashable, Sendable {
    /// The canonical bytes carried in a chunk.
    public let bytes: [UInt8]
    /// The paying account's canonical bytes, for the partition.
    public let sponsor: [UInt8]
    /// When it stops being valid (ms).
    public let expiry: Int64
    /// Its declared units (bandwidth ignored).
    public let units: Dimensions

    /// Takes what the builder needs from `transaction`.
    public init(_ transaction: some Transaction) {
        self.init(
            bytes: transaction.encoded(), sponsor: transaction.sponsor, expiry: transaction.expiry,
            units: transaction.units)
    }

    /// A pending transaction from its parts.
    public init(bytes: [UInt8], sponsor: [UInt8], expiry: Int64, units: Dimensions) {
        self.bytes = bytes
        self.sponsor = sponsor
        self.expiry = expiry
        self.units = units
    }
}

/// A transaction in the mempool and when it came in.
struct MempoolEntry: Sendable {
    let transaction: PendingTransaction
    let arrival: ContinuousClock.Instant
}

/// Transactions waiting to be put in a chunk, oldest first, each held once.
public final class Mempool: Sendable {
    private struct State {
        var queue: [MempoolEntry] = []
        var held: Set<[UInt8]> = []
    }

    /// The most transactions ``add(_:)`` lets in; more are refused. The
    /// pool can pass it only by the transactions of chunks being built
    /// that go back after failing to certify (at most `maxChunkBytes` of
    /// them per chunk), so it never holds more than `capacity` plus one
    /// chunk's worth per build under way.
    public let capacity: Int
    private let state = Mutex(State())

    /// An empty mempool of `capacity` transactions.
    public init(capacity: Int = 100_000) { self.capacity = capacity }

    /// Adds `transaction` unless it is held already or the pool is full; returns whether it was added.
    @discardableResult
    public func add(_ transaction: PendingTransaction) -> Bool {
        state.withLock { state in
            guard state.queue.count < capacity, state.held.insert(transaction.bytes).inserted else { return false }
            state.queue.append(MempoolEntry(transaction: transaction, arrival: .now))
            return true
        }
    }

    /// The number of transactions held.
    public var count: Int { state.withLock { $0.queue.count } }

    /// What the builder does with a transaction it is shown.
    enum Choice {
        /// Put it in the chunk.
        case take
        /// Leave it for a later chunk.
        case keep
        /// Drop it: it is another validator's to carry.
        case discard
    }

    /// Removes and returns, oldest first, the transactions `choose` takes
    /// (it sees each in turn), with when each came in; drops the ones it
    /// discards and those expired at `time`.
    func take(at time: Int64, _ choose: (PendingTransaction) -> Choice) -> [MempoolEntry] {
        state.withLock { state in
            var taken: [MempoolEntry] = []
            var kept: [MempoolEntry] = []
            for entry in state.queue {
                let transaction = entry.transaction
                switch transaction.expiry < time ? .discard : choose(transaction) {
                case .take:
                    taken.append(entry)
                    state.held.remove(transaction.bytes)
                case .keep:
                    kept.append(entry)
                case .discard:
                    state.held.remove(transaction.bytes)
                }
            }
            state.queue = kept
            return taken
        }
    }

    /// Puts `entries` back at the front, as they came in, for a chunk that did not get certified.
    func restore(_ entries: [MempoolEntry]) {
        state.withLock { state in
            let fresh = entries.filter { state.held.insert($0.transaction.bytes).inserted }
            state.queue.insert(contentsOf: fresh, at: 0)
        }
    }
}
