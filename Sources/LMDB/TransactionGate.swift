#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Counts the transactions open in this process and lets map growth wait
/// until there are none.
///
/// LMDB requires that no transaction of the calling process is open while
/// `mdb_env_set_mapsize` runs. Every transaction enters the gate (shared);
/// growth takes it exclusively: new transactions wait, growth waits for the
/// open ones to finish. A thread that itself holds a transaction cannot wait
/// for growth (it would wait for itself), which the per-thread count detects.
final class TransactionGate: @unchecked Sendable {
    // Safe to share: every field is guarded by `lock`.
    private let lock = ConditionLock()
    private var active = 0
    private var exclusivePending = false
    private var isClosed = false
    private var generation = 0

    /// Enters shared; waits while an exclusive section is pending, unless
    /// the calling thread already holds a transaction: the pending section
    /// waits for that one to end, so waiting for the section would deadlock
    /// (a `read` nested in a `read` or a `write` while another thread waits
    /// to grow the map). Returns the growth generation, or nil when the
    /// environment is closed.
    func enter() -> Int? {
        let nested = callerHoldsTransaction
        lock.lock()
        while exclusivePending && !nested { lock.wait() }
        guard !isClosed else {
            lock.unlock()
            return nil
        }
        active += 1
        let seen = generation
        lock.unlock()
        ThreadTransactionCount.add(1)
        return seen
    }

    /// Leaves shared.
    func leave() {
        ThreadTransactionCount.add(-1)
        lock.withLock {
            active -= 1
            if active == 0 && exclusivePending { lock.broadcast() }
        }
    }

    /// Whether the calling thread holds a transaction of any environment.
    var callerHoldsTransaction: Bool { ThreadTransactionCount.current > 0 }

    /// What became of an exclusive section.
    enum ExclusiveOutcome {
        case ran, skippedAsStale, closed
    }

    /// Runs `body` while no transaction of this process is open, unless the
    /// environment is closed or, when `onlyIfGeneration` is given, another
    /// exclusive section already ran since that generation was seen (then
    /// `body` is skipped). The caller must not hold a transaction itself.
    /// `closing` marks the environment closed afterwards.
    @discardableResult
    func exclusive(
        onlyIfGeneration: Int? = nil, closing: Bool = false, _ body: () throws -> Void
    ) rethrows -> ExclusiveOutcome {
        lock.lock()
        while exclusivePending { lock.wait() }
        exclusivePending = true
        while active > 0 { lock.wait() }
        defer {
            exclusivePending = false
            lock.broadcast()
            lock.unlock()
        }
        if isClosed { return .closed }
        if let onlyIfGeneration, onlyIfGeneration != generation { return .skippedAsStale }
        generation += 1
        if closing { isClosed = true }
        try body()
        return .ran
    }
}

/// The number of transactions the calling thread holds, kept in a pthread
/// key (Swift has no thread-local storage of its own on Linux).
enum ThreadTransactionCount {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, nil) == 0, "pthread_key_create failed")
        return key
    }()

    static var current: Int {
        Int(bitPattern: pthread_getspecific(key))
    }

    static func add(_ delta: Int) {
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: current + delta))
    }
}
