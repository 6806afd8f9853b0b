import Foundation
import LMDB

/// One queued write: applied inside the writer's transaction, completed after
/// the commit.
class PendingWrite: @unchecked Sendable {
    /// Applies the write straight into the batch's transaction and records
    /// its result. Throws whatever the write throws: the caller then
    /// abandons the whole transaction.
    func applyDirectly(_ txn: borrowing WriteTransaction) throws {}
    /// Applies the write in a nested transaction. Throws only when the whole
    /// transaction must abort and be retried (the map filled up); a request
    /// that fails otherwise records its failure, and its nested transaction
    /// is rolled back so it leaves nothing behind.
    func apply(_ txn: borrowing WriteTransaction) throws {}
    /// Delivers the outcome: the recorded result if `failure` is nil.
    func complete(failure: (any Error)?) {}
}

/// A write whose body returns a value of type `Value`: applied, then its
/// result kept for its caller. A caller that commits its own write
/// (`GroupCommitWriter.commitClaimed(_:)`) reads it with `result()`.
///
/// `@unchecked Sendable`: `outcome` is written and read only by the thread
/// that applies and commits the write.
class BodyWrite<Value: Sendable>: PendingWrite, @unchecked Sendable {
    private let body: (borrowing WriteTransaction) throws -> Value
    private var outcome: Result<Value, any Error>?

    init(_ body: @escaping (borrowing WriteTransaction) throws -> Value) { self.body = body }

    override func applyDirectly(_ txn: borrowing WriteTransaction) throws {
        outcome = .success(try body(txn))
    }

    override func apply(_ txn: borrowing WriteTransaction) throws {
        do {
            outcome = .success(try txn.nested { child in try body(child) })
        } catch let error as LMDBError where error.code == .mapFull {
            throw error
        } catch {
            outcome = .failure(error)
        }
    }

    /// The body's result, once the commit succeeded.
    func result() throws -> Value {
        guard let outcome else { throw ChunkStoreError(.io, "the write was never applied") }
        return try outcome.get()
    }
}

/// A queued write whose caller awaits its result.
///
/// `@unchecked Sendable`: the continuation is resumed exactly once, from
/// `complete`, on the writer thread.
final class TypedWrite<Value: Sendable>: BodyWrite<Value>, @unchecked Sendable {
    private let continuation: CheckedContinuation<Value, any Error>

    init(
        _ body: @escaping (borrowing WriteTransaction) throws -> Value,
        continuation: CheckedContinuation<Value, any Error>
    ) {
        self.continuation = continuation
        super.init(body)
    }

    override func complete(failure: (any Error)?) {
        if let failure {
            continuation.resume(throwing: failure)
        } else {
            continuation.resume(with: Result { try result() })
        }
    }
}

/// The store's single writer: a dedicated thread that takes every queued
/// request, applies as many as are waiting (up to `maxBatch`) in one write
/// transaction with one durable commit, then completes each caller with its
/// own result.
///
/// A batch is first applied with every request straight in the batch's
/// transaction. Only if one of them throws is that attempt abandoned whole
/// (nothing of it was committed) and the batch applied again with each
/// request in its own nested transaction, so the failing one leaves nothing
/// behind and its neighbours still commit. A nested transaction per request
/// costs a copy of every page the request touches that the batch already
/// changed, and most batches fail nowhere.
///
/// A group waits briefly for callers on their way: signing callers announce
/// themselves (`beginPreparing`) while they check and verify a chunk, before
/// they queue. When the writer finds requests queued while more callers are
/// preparing than are queued, it holds the group open until as many are
/// queued as are still preparing, or as long as the last commit took (at
/// most `maxGroupWait`) has passed, whichever comes first (PostgreSQL's `commit_delay` with `commit_siblings`, driven
/// by the callers actually on their way rather than a fixed count). A lone
/// caller, or one whose neighbours are all queued already, never waits; no
/// request waits more than `maxGroupWait` for its group to close. Callers
/// that start verifying only after their own commit (a closed loop, as in
/// the `sign-64` benchmark) never trigger it: the queue always outnumbers
/// them.
///
/// A signing caller that finds the writer idle commits its own write on its
/// own thread (`claimIdleWriter()`): the writer is then marked busy,
/// so write transactions never overlap, and each begins and commits on one
/// thread. A request that fails on its own (a conflict, a rate limit) does not fail
/// its neighbours; an LMDB failure fails the whole batch, since nothing of it
/// was committed.
final class GroupCommitWriter: @unchecked Sendable {
    // Sendable: `queue`, `stopping`, `thread` and the counts are guarded by
    // `lock` (`thread` is set in `start`, before any other call, and taken
    // once in `stop`); the condition wakes the writer.
    private let environment: Environment
    private let maxBatch: Int
    private let maxGroupWait: Duration
    private let lock = ConditionLock()
    private var queue: [PendingWrite] = []
    private var preparing = 0
    private var stopping = false
    private var thread: pthread_t?
    /// A batch is being applied and committed, by the writer thread or by a
    /// caller committing its own write (`claimIdleWriter()`).
    private var committing = false
    /// The writer thread is holding a group open (`holdGroupOpen`): only
    /// then does a caller that stops preparing need to wake it.
    private var holding = false

    private var batchesTaken = 0
    private var requestsTaken = 0
    private var inlineTaken = 0
    private var groupsHeld = 0
    /// How long the last commit took.
    private var lastCommit: Duration = .zero

    init(environment: Environment, maxBatch: Int, maxGroupWait: Duration = .zero) {
        self.environment = environment
        self.maxBatch = max(1, maxBatch)
        self.maxGroupWait = max(.zero, maxGroupWait)
    }

    /// How many batches the writer has taken and how many requests they held.
    var counts: (batches: Int, requests: Int) {
        lock.withLock { (batchesTaken, requestsTaken) }
    }

    /// Requests waiting to be taken into a batch.
    var queuedCount: Int { lock.withLock { queue.count } }

    /// How many groups the writer held open for callers on their way.
    var heldCount: Int { lock.withLock { groupsHeld } }

    /// How many writes their callers committed themselves, finding the
    /// writer idle (`claimIdleWriter()`); each is also one batch.
    var inlineCount: Int { lock.withLock { inlineTaken } }

    /// Announces a caller that will queue a write once its own checks are
    /// done; pair with `endPreparing()`, whether or not it queues.
    func beginPreparing() {
        lock.withLock { preparing += 1 }
    }

    /// The caller announced by `beginPreparing()` queued its write or gave up.
    func endPreparing() {
        let wake = lock.withLock {
            preparing -= 1
            return holding
        }
        if wake { lock.broadcast() }
    }

    /// Starts the writer thread.
    func start() {
        let context = Unmanaged.passRetained(self).toOpaque()
        var handle = pthread_t()
        let rc = pthread_create(
            &handle, nil,
            { raw in
                let writer = Unmanaged<GroupCommitWriter>.fromOpaque(raw!).takeRetainedValue()
                writer.run()
                return nil
            }, context)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        thread = handle
    }

    /// Queues `body` and waits for its committed result.
    func submit<Value: Sendable>(
        _ body: @escaping (borrowing WriteTransaction) throws -> Value
    ) async throws -> Value {
        try await withCheckedThrowingContinuation { continuation in
            let write = TypedWrite(body, continuation: continuation)
            let accepted = lock.withLock {
                if stopping { return false }
                queue.append(write)
                return true
            }
            // Signalled after the mutex is released, so the writer does not
            // wake only to wait for it.
            if accepted {
                lock.signal()
            } else {
                write.complete(failure: ChunkStoreError(.closed, "the store is closed"))
            }
        }
    }

    /// Lets queued requests finish, then stops the thread. Only the first
    /// caller joins the thread; later ones return at once.
    func stop() {
        let joining: pthread_t? = lock.withLock {
            stopping = true
            lock.signal()
            defer { thread = nil }
            return thread
        }
        if let joining {
            let rc = pthread_join(joining, nil)
            precondition(rc == 0, "pthread_join failed: \(rc)")
        }
        // A caller may still be committing its own write.
        lock.withLock {
            while committing { lock.wait() }
        }
    }

    private func run() {
        while let batch = nextBatch() {
            let started = ContinuousClock.now
            var failure: (any Error)?
            do { try commit(batch) } catch { failure = error }
            finishCommit(took: started.duration(to: .now))
            for write in batch { write.complete(failure: failure) }
        }
    }

    /// Marks the writer idle after a commit. Wakes every waiter: the writer
    /// thread when requests queued while a caller committed its own, and a
    /// `stop()` waiting for that caller.
    private func finishCommit(took: Duration) {
        lock.withLock {
            committing = false
            lastCommit = took
        }
        lock.broadcast()
    }

    /// Takes the writer for the calling thread if it is idle: nothing being
    /// committed, nothing queued, no caller preparing, not stopping. When it
    /// returns true the caller must call `commitClaimed(_:)` exactly once:
    /// until then no other write can commit.
    ///
    /// A caller that commits its own write saves two hand-offs (waking the
    /// writer thread, then waking the caller again) and keeps the other cores
    /// free for work that overlaps the sync. Requests that arrive meanwhile
    /// queue for the writer thread, which takes them once this commit is done.
    func claimIdleWriter() -> Bool {
        lock.withLock {
            guard !stopping, !committing, queue.isEmpty, preparing == 0 else { return false }
            committing = true
            batchesTaken += 1
            requestsTaken += 1
            inlineTaken += 1
            return true
        }
    }

    /// Applies and commits `body` on the calling thread, as the writer thread
    /// would a batch of one, then releases the writer claimed by
    /// `claimIdleWriter()`.
    func commitClaimed<Value: Sendable>(
        _ body: @escaping (borrowing WriteTransaction) throws -> Value
    ) throws -> Value {
        let write = BodyWrite(body)
        let started = ContinuousClock.now
        var failure: (any Error)?
        do { try commit([write]) } catch { failure = error }
        finishCommit(took: started.duration(to: .now))
        if let failure { throw failure }
        return try write.result()
    }

    /// Applies `batch` in one write transaction and commits it: every request
    /// straight in the transaction, or, when one of them throws or leaves the
    /// transaction unusable, the whole batch again with a nested transaction
    /// each. A full map is rethrown as
    /// it is, so the environment grows the map and runs the attempt again.
    private func commit(_ batch: [PendingWrite]) throws {
        do {
            try environment.write { txn in
                for write in batch {
                    do {
                        try write.applyDirectly(txn)
                    } catch let error as LMDBError where error.code == .mapFull {
                        throw error
                    } catch {
                        throw IsolateRequests()
                    }
                }
                // A request that caught a failure which left LMDB's
                // transaction unusable (a damaged page it read) would make the
                // commit fail and the writer close: isolate the requests instead.
                guard txn.isUsable else { throw IsolateRequests() }
            }
            return
        } catch is IsolateRequests {}
        try environment.write { txn in
            for write in batch { try write.apply(txn) }
        }
    }

    private func nextBatch() -> [PendingWrite]? {
        lock.lock()
        defer { lock.unlock() }
        while (queue.isEmpty || committing) && !stopping { lock.wait() }
        while committing { lock.wait() }
        if queue.isEmpty { return nil }
        holdGroupOpen()
        committing = true
        let count = min(queue.count, maxBatch)
        let batch = Array(queue.prefix(count))
        queue.removeFirst(count)
        batchesTaken += 1
        requestsTaken += count
        return batch
    }
}

extension GroupCommitWriter {
    /// With the lock held and requests queued: waits while more callers are
    /// preparing than are queued, for as long as the last commit took and at
    /// most `maxGroupWait` after the first look.
    fileprivate func holdGroupOpen() {
        let wait = min(maxGroupWait, lastCommit)
        guard wait > .zero, !stopping, preparing > queue.count, queue.count < maxBatch else { return }
        groupsHeld += 1
        holding = true
        defer { holding = false }
        let deadline = ConditionLock.deadline(after: wait)
        while !stopping, preparing > queue.count, queue.count < maxBatch {
            if !lock.wait(until: deadline) { return }
        }
    }
}

/// Abandons a batch applied directly so that it is applied again, each
/// request isolated in a nested transaction.
private struct IsolateRequests: Error {}
