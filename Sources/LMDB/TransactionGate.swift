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
    // Safe to share: every field is guarded by `mutex`, and the pthread
    // objects live at stable heap addresses owned by this instance.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var active = 0
    private var exclusivePending = false
    private var isClosed = false
    private var generation = 0

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    /// Enters shared; waits while an exclusive section is pending, unless
    /// the calling thread already holds a transaction: the pending section
    /// waits for that one to end, so waiting for the section would deadlock
    /// (a `read` nested in a `read` or a `write` while another thread waits
    /// to grow the map). Returns the growth generation, or nil when the
    /// environment is closed.
    func enter() -> Int? {
        let nested = callerHoldsTransaction
        pthread_mutex_lock(mutex)
        while exclusivePending && !nested { pthread_cond_wait(condition, mutex) }
        guard !isClosed else {
            pthread_mutex_unlock(mutex)
            return nil
        }
        active += 1
        let seen = generation
        pthread_mutex_unlock(mutex)
        ThreadTransactionCount.add(1)
        return seen
    }

    /// Leaves shared.
    func leave() {
        ThreadTransactionCount.add(-1)
        pthread_mutex_lock(mutex)
        active -= 1
        if active == 0 && exclusivePending { pthread_cond_broadcast(condition) }
        pthread_mutex_unlock(mutex)
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
        pthread_mutex_lock(mutex)
        while exclusivePending { pthread_cond_wait(condition, mutex) }
        exclusivePending = true
        while active > 0 { pthread_cond_wait(condition, mutex) }
        defer {
            exclusivePending = false
            pthread_cond_broadcast(condition)
            pthread_mutex_unlock(mutex)
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
