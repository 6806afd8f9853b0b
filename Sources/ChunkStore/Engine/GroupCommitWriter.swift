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

/// A write whose body returns a value of type `Value`.
///
/// `@unchecked Sendable`: `outcome` is written and read only on the writer
/// thread (by `apply` and then `complete`), and the continuation is resumed
/// exactly once, from `complete`.
final class TypedWrite<Value: Sendable>: PendingWrite, @unchecked Sendable {
    private let body: (borrowing WriteTransaction) throws -> Value
    private let continuation: CheckedContinuation<Value, any Error>
    private var outcome: Result<Value, any Error>?

    init(
        _ body: @escaping (borrowing WriteTransaction) throws -> Value,
        continuation: CheckedContinuation<Value, any Error>
    ) {
        self.body = body
        self.continuation = continuation
    }

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

    override func complete(failure: (any Error)?) {
        if let failure {
            continuation.resume(throwing: failure)
        } else if let outcome {
            continuation.resume(with: outcome)
        } else {
            continuation.resume(throwing: ChunkStoreError(.io, "the write was never applied"))
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
/// Write transactions therefore always begin and commit on this one thread.
/// A request that fails on its own (a conflict, a rate limit) does not fail
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

    private var batchesTaken = 0
    private var requestsTaken = 0
    private var groupsHeld = 0
    /// How long the last commit took; read and written on the writer thread only.
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

    /// Announces a caller that will queue a write once its own checks are
    /// done; pair with `endPreparing()`, whether or not it queues.
    func beginPreparing() {
        lock.withLock { preparing += 1 }
    }

    /// The caller announced by `beginPreparing()` queued its write or gave up.
    func endPreparing() {
        lock.withLock {
            preparing -= 1
            lock.signal()
        }
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
                lock.signal()
                return true
            }
            if !accepted { write.complete(failure: ChunkStoreError(.closed, "the store is closed")) }
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
    }

    private func run() {
        while let batch = nextBatch() {
            do {
                let started = ContinuousClock.now
                try commit(batch)
                lastCommit = started.duration(to: .now)
                for write in batch { write.complete(failure: nil) }
            } catch {
                for write in batch { write.complete(failure: error) }
            }
        }
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
        while queue.isEmpty && !stopping { lock.wait() }
        if queue.isEmpty { return nil }
        holdGroupOpen()
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
        let deadline = ConditionLock.deadline(after: wait)
        while !stopping, preparing > queue.count, queue.count < maxBatch {
            if !lock.wait(until: deadline) { return }
        }
    }
}

/// Abandons a batch applied directly so that it is applied again, each
/// request isolated in a nested transaction.
private struct IsolateRequests: Error {}
