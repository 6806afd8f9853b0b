@testable import ChunkStore
import DSMR
import DSMRTestSupport
import Foundation
import Synchronization
import Testing

@Suite("Group commit")
struct GroupCommitTests {
    private struct Refusal: Error {}

    /// Four requests in one batch (the writer is held until all are queued,
    /// in a known order): a signing, a ledger write that then throws, another
    /// ledger write, another signing. The batch is applied straight in one
    /// transaction first; the throw must make it fall back to isolating each
    /// request, so the failing one alone fails and leaves nothing, and the
    /// three others commit.
    @Test func aRequestThatThrowsInABatchLeavesNothingAndItsNeighboursCommit() async throws {
        try await withTemporaryDirectory("group-commit") { path in
            let store = try ChunkStore(Fixture.configuration(path))
            defer { store.close() }
            let first = Fixture.chunk(Fixture.producers[0], slot: 1)
            let last = Fixture.chunk(Fixture.producers[1], slot: 1)
            let failing = ProducerKey(Fixture.producers[2].nodeID, 90)
            let kept = ProducerKey(Fixture.producers[2].nodeID, 91)
            let units = Dimensions(bandwidth: 7, compute: 0, storageRead: 0, storageAllocate: 0, storageWrite: 0)
            let before = store.groupCommitCounts

            let queued = Atomic<Bool>(false)
            let gate = Task {
                try await store.submit { _ in
                    queued.store(true, ordering: .releasing)
                    eventuallyBlocking(within: Self.patience, pollingEvery: .microseconds(100)) {
                        store.queuedWriteCount >= 4
                    }
                }
            }
            try await waitUntil(timeout: Self.patience) { queued.load(ordering: .acquiring) }
            let signFirst = Task {
                try await store.persistAndSign(first, validators: Fixture.validators, now: .milliseconds(0))
            }
            try await waitUntil(timeout: Self.patience) { store.queuedWriteCount == 1 }
            let throwing = Task {
                try await store.submit { w in
                    try w.put(w.tables.ledger, failing, units)
                    throw Refusal()
                }
            }
            try await waitUntil(timeout: Self.patience) { store.queuedWriteCount == 2 }
            let writing = Task {
                try await store.submit { w in try w.put(w.tables.ledger, kept, units) }
            }
            try await waitUntil(timeout: Self.patience) { store.queuedWriteCount == 3 }
            let signLast = Task {
                try await store.persistAndSign(last, validators: Fixture.validators, now: .milliseconds(0))
            }
            try await gate.value

            #expect(try await signFirst.value.reference.chunkID == first.id)
            await #expect(throws: Refusal.self) { try await throwing.value }
            try await writing.value
            #expect(try await signLast.value.reference.chunkID == last.id)
            let after = store.groupCommitCounts
            #expect(after.batches - before.batches == 2, "the gate, then the four requests together")
            #expect(after.requests - before.requests == 5)

            #expect(try store.ledgerUsage(producer: failing.producer, window: failing.number) == .zero)
            #expect(try store.ledgerUsage(producer: kept.producer, window: kept.number) == units)
            for chunk in [first, last] {
                #expect(try store.chunk(chunk.id)?.chunk == chunk)
                #expect(try store.signedChunk(producer: chunk.producer, slot: Slot(chunk.slot)) == chunk.id)
            }
        }
    }

    /// How long a wait for a queue state may take: generous, because the
    /// whole suite runs in parallel on few cores and a task may wait long for
    /// a thread.
    static let patience: Duration = .seconds(60)
}
