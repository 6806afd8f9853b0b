@testable import ChunkStore
import DSMR
import DSMRTestSupport
import Foundation
import Synchronization
import Testing

/// The writer holds a group open while more signing callers are still
/// checking their chunks than are queued (`StoreConfiguration.maxGroupWait`).
@Suite("Group wait")
struct GroupWaitTests {
    static let patience: Duration = .seconds(30)
    static let units = Dimensions(bandwidth: 7, compute: 0, storageRead: 0, storageAllocate: 0, storageWrite: 0)

    /// Two callers preparing, one write queued: the group is held, and closes
    /// with both writes once a second is queued (as many queued as preparing).
    @Test func aGroupIsHeldForCallersOnTheirWayAndClosesWhenEnoughAreQueued() async throws {
        try await withTemporaryDirectory("group-wait") { path in
            var configuration = Fixture.configuration(path)
            configuration.maxGroupWait = .seconds(20)
            let store = try ChunkStore(configuration)
            defer { store.close() }
            // A slow commit first: the writer holds a group at most as long as
            // its last commit took, and the steps below must fit in that even
            // on a loaded machine.
            try await store.submit { _ in _ = usleep(6_000_000) }

            let entered = Atomic<Int>(0)
            let release = Atomic<Bool>(false)
            for _ in 0..<2 {
                Thread {
                    store.preparing {
                        entered.add(1, ordering: .releasing)
                        eventuallyBlocking(within: Self.patience) { release.load(ordering: .acquiring) }
                    }
                }.start()
            }
            defer { release.store(true, ordering: .releasing) }
            try await waitUntil(timeout: Self.patience) { entered.load(ordering: .acquiring) == 2 }

            let before = store.groupCommitCounts
            let held = store.groupsHeldOpen
            let firstDone = Atomic<Bool>(false)
            let first = Task {
                try await store.submit { w in
                    try w.put(w.tables.ledger, ProducerKey(Fixture.producers[0].nodeID, 1), Self.units)
                }
                firstDone.store(true, ordering: .releasing)
            }
            try await waitUntil(timeout: Self.patience) { store.groupsHeldOpen == held + 1 }
            try await Task.sleep(for: .milliseconds(100))
            let committedEarly = firstDone.load(ordering: .acquiring)
            #expect(!committedEarly, "the held group committed before it closed")

            try await store.submit { w in
                try w.put(w.tables.ledger, ProducerKey(Fixture.producers[1].nodeID, 1), Self.units)
            }
            try await first.value
            let after = store.groupCommitCounts
            #expect(after.batches - before.batches == 1)
            #expect(after.requests - before.requests == 2)
        }
    }

    /// Nobody preparing: a lone write is never held, however slow the last commit.
    @Test func aLoneWriteIsNeverHeld() async throws {
        try await withTemporaryDirectory("group-wait") { path in
            var configuration = Fixture.configuration(path)
            configuration.maxGroupWait = .seconds(20)
            let store = try ChunkStore(configuration)
            defer { store.close() }
            try await store.submit { _ in _ = usleep(500_000) }
            // Queued writes: a lone signing caller would commit on its own
            // thread and never reach the writer's queue.
            for window in UInt64(1)...8 {
                try await store.submit { w in
                    try w.put(w.tables.ledger, ProducerKey(Fixture.producers[0].nodeID, window), Self.units)
                }
            }
            #expect(store.groupsHeldOpen == 0)
            #expect(store.groupCommitCounts.batches == store.groupCommitCounts.requests)
        }
    }
}
