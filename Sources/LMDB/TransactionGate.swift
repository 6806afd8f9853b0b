import SystemC

/// Counts the transactions open in this process and lets map growth wait
/// until there are none.
///
/// LMDB requires that no transaction of the calling process is open while
/// `mdb_env_set_mapsize` runs. Every transaction enters the gate (shared);
/// growth takes it exclusively. Growth ahead of need uses `tryExclusive`,
/// which runs only at a moment when nothing is open and holds nobody back.
/// Growth the writer cannot do without (the map is full) uses `exclusive`
/// with a time limit: new transactions wait, growth waits for the open ones
/// to finish, and when they do not finish in time growth gives up and the
/// gate opens again, so no transaction waits longer than that limit. A
/// thread that itself holds a transaction cannot wait for growth (it would
/// wait for itself), which the per-thread count detects.
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

    /// Whether an exclusive section is waiting for open transactions to end
    /// (growth or close is pending). For tests that wait for that state.
    var isExclusivePending: Bool { lock.withLock { exclusivePending } }

    /// What became of an exclusive section.
    enum ExclusiveOutcome {
        case ran, skippedAsStale, closed
        /// Open transactions did not end within the allowed wait; `body` did
        /// not run and new transactions may enter again.
        case timedOut
        /// A transaction was open at the moment of asking (`tryExclusive`).
        case busy
    }

    /// Runs `body` while no transaction of this process is open, unless the
    /// environment is closed or, when `onlyIfGeneration` is given, another
    /// exclusive section already ran since that generation was seen (then
    /// `body` is skipped). The caller must not hold a transaction itself.
    /// `closing` marks the environment closed afterwards.
    ///
    /// With `waitingAtMost`, new transactions are held back and the open ones
    /// waited for at most that long; if they have not all ended by then,
    /// `body` is skipped, the gate opens again and the outcome is `timedOut`.
    @discardableResult
    func exclusive(
        onlyIfGeneration: Int? = nil, closing: Bool = false, waitingAtMost limit: Duration? = nil,
        _ body: () throws -> Void
    ) rethrows -> ExclusiveOutcome {
        let deadline = limit.map(ConditionLock.deadline(after:))
        lock.lock()
        while exclusivePending {
            guard wait(until: deadline) else {
                lock.unlock()
                return .timedOut
            }
        }
        exclusivePending = true
        defer {
            exclusivePending = false
            lock.broadcast()
            lock.unlock()
        }
        while active > 0 {
            guard wait(until: deadline) else { return .timedOut }
        }
        return try runExclusive(onlyIfGeneration: onlyIfGeneration, closing: closing, body)
    }

    /// Runs `body` exclusively only if no transaction is open and no
    /// exclusive section pending at this moment; never waits and never holds
    /// back a transaction. Returns `busy` otherwise.
    @discardableResult
    func tryExclusive(onlyIfGeneration: Int? = nil, _ body: () throws -> Void) rethrows -> ExclusiveOutcome {
        lock.lock()
        defer { lock.unlock() }
        guard !exclusivePending && active == 0 else { return .busy }
        return try runExclusive(onlyIfGeneration: onlyIfGeneration, closing: false, body)
    }

    /// The exclusive section proper; `lock` is held.
    private func runExclusive(
        onlyIfGeneration: Int?, closing: Bool, _ body: () throws -> Void
    ) rethrows -> ExclusiveOutcome {
        if isClosed { return .closed }
        if let onlyIfGeneration, onlyIfGeneration != generation { return .skippedAsStale }
        generation += 1
        if closing { isClosed = true }
        try body()
        return .ran
    }

    /// Waits on the condition (lock held) until signalled or `deadline`
    /// passes; false when the deadline passed.
    private func wait(until deadline: timespec?) -> Bool {
        guard let deadline else {
            lock.wait()
            return true
        }
        return lock.wait(until: deadline)
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
