@testable import ChunkStore
import DSMR
import DSMRTestSupport
import Foundation
import Synchronization
import Testing

/// A signing caller that finds the writer idle commits its own write on its
/// own thread (`GroupCommitWriter.claimIdleWriter()`), while every other
/// write waits for it.
@Suite("Inline commit")
struct InlineCommitTests {
    static let patience: Duration = .seconds(30)
    static let units = Dimensions(bandwidth: 7, compute: 0, storageRead: 0, storageAllocate: 0, storageWrite: 0)

    /// Sequential signings find the writer idle each time: each commits on
    /// its caller's thread as a batch of one, and its share verifies.
    @Test func aLoneSigningCallerCommitsItsOwnWrite() async throws {
        try await withTemporaryDirectory("inline-commit") { path in
            let store = try ChunkStore(Fixture.configuration(path))
            defer { store.close() }
            let before = store.groupCommitCounts
            for slot in UInt64(1)...4 {
                let chunk = Fixture.chunk(Fixture.producers[0], slot: slot)
                let share = try await store.persistAndSign(
                    chunk, validators: Fixture.validators,
                    now: .milliseconds(Int64(slot) * Fixture.rules.slotDuration))
                #expect(share.reference.chunkID == chunk.id)
                #expect(
                    share.verify(
                        publicKey: Fixture.node.publicKey, rules: Fixture.rules, domain: Fixture.domain))
                #expect(try store.chunk(chunk.id)?.chunk == chunk)
            }
            #expect(store.writesCommittedInline == 4)
            let after = store.groupCommitCounts
            #expect(after.batches - before.batches == 4)
            #expect(after.requests - before.requests == 4)
        }
    }

    /// With the writer claimed by a caller, a queued write waits: it commits
    /// only after the caller has committed its own.
    @Test func aQueuedWriteWaitsForACallerCommittingItsOwn() async throws {
        try await withTemporaryDirectory("inline-commit") { path in
            let store = try ChunkStore(Fixture.configuration(path))
            defer { store.close() }
            let queuedKey = ProducerKey(Fixture.producers[0].nodeID, 1)
            let claimedKey = ProducerKey(Fixture.producers[1].nodeID, 1)
            #expect(store.claimIdleWriter())
            #expect(!store.claimIdleWriter(), "a second caller claimed a writer already claimed")

            let queuedDone = Atomic<Bool>(false)
            let queued = Task {
                try await store.submit { w in try w.put(w.tables.ledger, queuedKey, Self.units) }
                queuedDone.store(true, ordering: .releasing)
            }
            try await waitUntil(timeout: Self.patience) { store.queuedWriteCount == 1 }
            try await Task.sleep(for: .milliseconds(200))
            let committedEarly = queuedDone.load(ordering: .acquiring)
            #expect(!committedEarly, "a queued write committed while a caller held the writer")
            #expect(try store.ledgerUsage(producer: queuedKey.producer, window: queuedKey.number) == .zero)

            try store.commitClaimed { w in try w.put(w.tables.ledger, claimedKey, Self.units) }
            try await queued.value
            #expect(try store.ledgerUsage(producer: queuedKey.producer, window: queuedKey.number) == Self.units)
            #expect(try store.ledgerUsage(producer: claimedKey.producer, window: claimedKey.number) == Self.units)
            #expect(store.claimIdleWriter(), "the writer stayed busy after both commits")
            try store.commitClaimed { _ in }
        }
    }

    /// Closing waits for a caller committing its own write; the write is
    /// durable in the store opened again.
    @Test func closeWaitsForACallerCommittingItsOwnWrite() async throws {
        try await withTemporaryDirectory("inline-commit") { path in
            let key = ProducerKey(Fixture.producers[2].nodeID, 9)
            let store = try ChunkStore(Fixture.configuration(path))
            #expect(store.claimIdleWriter())
            let closed = Atomic<Bool>(false)
            Thread {
                store.close()
                closed.store(true, ordering: .releasing)
            }.start()
            try await Task.sleep(for: .milliseconds(200))
            let closedEarly = closed.load(ordering: .acquiring)
            #expect(!closedEarly, "the store closed while a caller held the writer")
            try store.commitClaimed { w in try w.put(w.tables.ledger, key, Self.units) }
            try await waitUntil(timeout: Self.patience) { closed.load(ordering: .acquiring) }

            let reopened = try ChunkStore(Fixture.configuration(path))
            defer { reopened.close() }
            #expect(try reopened.ledgerUsage(producer: key.producer, window: key.number) == Self.units)
        }
    }
}
