import ChunkStore
import DSMR
import DSMRTestSupport
import Foundation
import Testing

@Suite("Capacity and limits")
struct CapacityTests {
    @Test func mapGrowsUnderConcurrentBatchesWithoutLosingRequests() async throws {
        try await withTemporaryDirectory("capacity") { path in
            // A 64 KiB map fills after a few dozen chunks; every batch that
            // hits MDB_MAP_FULL is retried after growth. `.noSync`: the test
            // is about growth, not durability, and makes 900 writes.
            var configuration = Fixture.configuration(
                path, rules: GarbageCollectionTests.roomyRules, durability: .noSync)
            configuration.mapSize = 64 << 10
            let store = try ChunkStore(configuration)
            defer { store.close() }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for slot in UInt64(0)..<300 {
                    for producer in Fixture.producers {
                        group.addTask {
                            let chunk = Fixture.chunk(producer, slot: slot, size: 400, tag: slot)
                            _ = try await store.persistAndSign(
                                chunk, validators: Fixture.validators, now: .milliseconds(0))
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try store.chunks(status: .pending).count == 900)
            let size = try FileManager.default.attributesOfItem(atPath: path + "/data.mdb")[.size] as? Int ?? 0
            #expect(size > configuration.mapSize, "the map grew past its initial size")
            // Every request went through group commit (whether they shared a transaction depends on
            // the machine's timing; the group-commit suite shows sharing under a controlled wait).
            #expect(store.groupCommitCounts.requests == 900)
            #expect(store.groupCommitCounts.batches <= 900)
        }
    }

    @Test func collectingUpToTheEndOfTimeTerminates() async throws {
        try await withTemporaryDirectory("capacity") { path in
            let store = try ChunkStore(Fixture.configuration(path))
            defer { store.close() }
            _ = try await store.persistAndSign(
                Fixture.chunk(Fixture.producers[0], slot: 20), validators: Fixture.validators,
                now: .milliseconds(20_000))
            let report = try await store.collectGarbage(upTo: .milliseconds(.max), force: true)
            #expect(report.expiredPending == 1 && report.signedRows == 1 && report.ledgerRows == 1)
            #expect(try store.watermark() == .max)
            #expect(
                await errorCode {
                    try await store.persistAndSign(
                        Fixture.chunk(Fixture.producers[1], slot: 21), validators: Fixture.validators,
                        now: .milliseconds(20_000))
                } == .expired)
        }
    }
}
