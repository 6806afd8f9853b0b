import SystemC

/// A pthread mutex with one condition variable, for the package's own
/// threads (the transaction gate here, the store's group-commit writer).
///
/// Every `pthread_*` result is checked: a failure means the lock was misused
/// or memory is damaged, so it stops the process naming the call and its
/// code rather than run on unprotected.
///
/// `@unchecked Sendable`: the pthread objects are made for sharing between
/// threads; they live on the heap, so they never move.
package final class ConditionLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    package init() {
        Self.check(pthread_mutex_init(mutex, nil), "pthread_mutex_init")
        Self.check(pthread_cond_init(condition, nil), "pthread_cond_init")
    }

    deinit {
        Self.check(pthread_cond_destroy(condition), "pthread_cond_destroy")
        Self.check(pthread_mutex_destroy(mutex), "pthread_mutex_destroy")
        condition.deallocate()
        mutex.deallocate()
    }

    /// Takes the mutex.
    package func lock() { Self.check(pthread_mutex_lock(mutex), "pthread_mutex_lock") }

    /// Releases the mutex.
    package func unlock() { Self.check(pthread_mutex_unlock(mutex), "pthread_mutex_unlock") }

    /// Runs `body` holding the mutex.
    package func withLock<R>(_ body: () throws -> R) rethrows -> R {
        lock()
        defer { unlock() }
        return try body()
    }

    /// Releases the mutex until the condition is signalled, then takes it
    /// again. Call with the mutex held, in a loop that re-tests the state.
    package func wait() { Self.check(pthread_cond_wait(condition, mutex), "pthread_cond_wait") }

    /// Like `wait()`, but gives up at `deadline` (on the realtime clock, see
    /// `deadline(after:)`); returns false when it gave up.
    package func wait(until deadline: timespec) -> Bool {
        var deadline = deadline
        let result = pthread_cond_timedwait(condition, mutex, &deadline)
        if result == ETIMEDOUT { return false }
        Self.check(result, "pthread_cond_timedwait")
        return true
    }

    /// The realtime clock `duration` from now: what `wait(until:)` measures
    /// against.
    package static func deadline(after duration: Duration) -> timespec {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let (seconds, attoseconds) = duration.components
        let nanoseconds = Int(now.tv_nsec) + Int(attoseconds / 1_000_000_000)
        let wholeSeconds = Int(now.tv_sec) + Int(seconds) + nanoseconds / 1_000_000_000
        return timespec(tv_sec: wholeSeconds, tv_nsec: nanoseconds % 1_000_000_000)
    }

    /// Wakes one waiter.
    package func signal() { Self.check(pthread_cond_signal(condition), "pthread_cond_signal") }

    /// Wakes every waiter.
    package func broadcast() { Self.check(pthread_cond_broadcast(condition), "pthread_cond_broadcast") }

    private static func check(_ result: Int32, _ call: StaticString) {
        if result != 0 { fatalError("\(call) failed with error \(result)") }
    }
}
