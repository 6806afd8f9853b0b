@testable import ChunkStore
import DSMR
@testable import LMDB
import DSMRTestSupport
import Testing

@Suite("Garbage collection")
struct GarbageCollectionTests {
    /// Rules that let a test sign far-future slots without hitting the limit.
    static let roomyRules: Rules = {
        var rules = Fixture.rules
        rules.maxFutureSlots = 1_000_000
        rules.maxUnitsPerWindow.bandwidth = 1 << 40
        return rules
    }()

    /// Signs `slots.count` chunks for each producer, in concurrent batches.
    static func fill(_ store: ChunkStore, slots: Range<UInt64>) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for slot in slots {
                for (index, producer) in Fixture.producers.enumerated() {
                    group.addTask {
                        let chunk = Fixture.chunk(producer, slot: slot, size: 20, tag: slot << 8 | UInt64(index))
                        _ = try await store.persistAndSign(chunk, validators: Fixture.validators, now: .milliseconds(0))
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// `expiredSlots` slots of every producer expire; `liveSlots` slots do not.
    func collect(liveSlots: UInt64, expiredSlots: UInt64) async throws -> GarbageReport {
        try await withTemporaryDirectory("gc") { path in
            // `.noSync`: thousands of fills would otherwise each wait for the disk.
            let store = try ChunkStore(Fixture.configuration(path, rules: Self.roomyRules, durability: .noSync))
            defer { store.close() }
            try await Self.fill(store, slots: 0..<expiredSlots)
            try await Self.fill(store, slots: 1_000..<1_000 + liveSlots)
            let producers = UInt64(Fixture.producers.count)
            let report = try await store.collectGarbage(
                upTo: .milliseconds(Fixture.rules.expiry(ofSlot: expiredSlots - 1)))
            #expect(report.expiredPending == Int(expiredSlots * producers))
            #expect(report.signedRows == Int(expiredSlots * producers))
            #expect(try store.chunks(status: .pending).count == Int(liveSlots * producers))
            #expect(try store.chunks(producer: Fixture.producers[0].nodeID, slots: 0...999).isEmpty)
            #expect(try store.signedChunk(producer: Fixture.producers[0].nodeID, slot: 1_000) != nil)
            return report
        }
    }

    @Test func collectionVisitsOnlyExpiredRowsWhateverTheStoreHolds() async throws {
        let expiredSlots: UInt64 = 8
        let small = try await collect(liveSlots: 10, expiredSlots: expiredSlots)
        let large = try await collect(liveSlots: 400, expiredSlots: expiredSlots)
        // 24 chunks, 24 signed rows, 6 ledger rows (two windows of three
        // producers) removed, plus one look past the end per producer in
        // `signed`, `ledger` and `evidence`.
        let expired = Int(expiredSlots) * Fixture.producers.count
        #expect(small.rowsVisited == large.rowsVisited, "small store \(small), large store \(large)")
        #expect(large.ledgerRows == 2 * Fixture.producers.count)
        #expect(large.rowsVisited <= 2 * expired + large.ledgerRows + 3 * Fixture.producers.count)
        #expect(large.rowsVisited >= 2 * expired + large.ledgerRows)
    }

    /// Cursor moves (seeks and steps, counted by the LMDB layer) that one
    /// collection of `expiredSlots` expired slots makes in a store that also
    /// holds `liveSlots` live ones.
    func cursorSteps(liveSlots: UInt64, expiredSlots: UInt64) async throws -> (steps: Int, report: GarbageReport) {
        try await withTemporaryDirectory("gc-steps") { path in
            let store = try ChunkStore(Fixture.configuration(path, rules: Self.roomyRules, durability: .noSync))
            defer { store.close() }
            try await Self.fill(store, slots: 0..<expiredSlots)
            try await Self.fill(store, slots: 1_000..<1_000 + liveSlots)
            let before = store.environment.cursorSteps
            let report = try await store.collectGarbage(
                upTo: .milliseconds(Fixture.rules.expiry(ofSlot: expiredSlots - 1)))
            return (store.environment.cursorSteps - before, report)
        }
    }

    /// What GC walks, counted where it happens (every `mdb_cursor_get`), is
    /// the same in a store 40 times larger and stays within one step per row
    /// it removes plus one seek per range: a collection that walked a whole
    /// table would fail both.
    @Test func collectionCursorStepsDoNotGrowWithTheStore() async throws {
        let small = try await cursorSteps(liveSlots: 10, expiredSlots: 8)
        let large = try await cursorSteps(liveSlots: 400, expiredSlots: 8)
        print("gc cursor steps: small store \(small.steps), large store \(large.steps), \(large.report)")
        #expect(small.steps == large.steps, "small store: \(small.steps) steps, large store: \(large.steps)")
        let removed =
            large.report.chunksRemoved + large.report.certificates + large.report.signedRows
            + large.report.ledgerRows + large.report.evidenceRows
        // Six ranges (pending and accepted chunks, certificates, signed,
        // ledger, evidence): a seek each and one step past each range's end.
        #expect(large.steps <= removed + 2 * 6, "\(large.steps) cursor steps to remove \(removed) rows")
        #expect(large.steps >= removed)
    }

    @Test func acceptedChunksSurviveUntilTheirRetentionPassed() async throws {
        try await withTemporaryDirectory("gc") { path in
            let configuration = Fixture.configuration(path)
            let store = try ChunkStore(configuration)
            defer { store.close() }
            let slot: UInt64 = 20
            let now = Fixture.rules.slotStart(slot)
            let accepted = Fixture.chunk(Fixture.producers[0], slot: slot)
            let pending = Fixture.chunk(Fixture.producers[1], slot: slot)
            for chunk in [accepted, pending] {
                _ = try await store.persistAndSign(chunk, validators: Fixture.validators, now: .milliseconds(now))
            }
            try await store.recordAccepted(Fixture.block(height: 1, timestamp: now, certifying: [accepted]))
            let expiry = Fixture.rules.expiry(ofSlot: slot)

            var report = try await store.collectGarbage(upTo: .milliseconds(expiry))
            #expect(report.expiredPending == 1 && report.expiredAccepted == 0)
            #expect(try store.chunk(pending.id) == nil)
            #expect(try store.summary(of: accepted.id)?.status == .accepted)

            report = try await store.collectGarbage(upTo: .milliseconds(expiry + configuration.acceptedRetention - 1))
            #expect(report.chunksRemoved == 0)
            #expect(try store.chunk(accepted.id)?.chunk == accepted)

            report = try await store.collectGarbage(upTo: .milliseconds(expiry + configuration.acceptedRetention))
            #expect(report.expiredAccepted == 1)
            #expect(try store.chunk(accepted.id) == nil)
            #expect(try store.chunks(status: .accepted).isEmpty)
        }
    }

    @Test func watermarkNeverMovesBack() async throws {
        try await withTemporaryDirectory("gc") { path in
            var store = try ChunkStore(Fixture.configuration(path))
            #expect(try store.watermark() == 0)
            #expect(try await store.collectGarbage(upTo: .milliseconds(10_000)).watermark == 10_000)
            let report = try await store.collectGarbage(upTo: .milliseconds(4_000))
            #expect(report.watermark == 10_000 && report.rowsVisited == 0)
            #expect(try store.watermark() == 10_000)
            let accepted = try await store.recordAccepted(Fixture.block(height: 1, timestamp: 2_000))
            #expect(accepted.garbage.watermark == 10_000)
            #expect(try store.watermark() == 10_000)
            store.close()
            store = try ChunkStore(Fixture.configuration(path))
            defer { store.close() }
            #expect(try store.watermark() == 10_000)
            try await store.recordAccepted(
                Fixture.block(parent: accepted.tip.id, height: 2, timestamp: 12_000))
            #expect(try store.watermark() == 12_000)
        }
    }

    @Test func collectionPrunesExpiredCertificatesEvidenceAndLedgers() async throws {
        try await withTemporaryDirectory("gc") { path in
            let configuration = Fixture.configuration(path)
            let store = try ChunkStore(configuration)
            defer { store.close() }
            let producer = Fixture.producers[0]
            let slot: UInt64 = 8
            let now = Fixture.rules.slotStart(slot)
            let first = Fixture.chunk(producer, slot: slot, tag: 1)
            _ = try await store.persistAndSign(first, validators: Fixture.validators, now: .milliseconds(now))
            #expect(
                await errorCode {
                    try await store.persistAndSign(
                        Fixture.chunk(producer, slot: slot, tag: 2), validators: Fixture.validators,
                        now: .milliseconds(now))
                } == .conflictingChunk)
            #expect(try await store.addCertificate(Fixture.certificate(first)))
            #expect(try await !store.addCertificate(Fixture.certificate(first)), "a second copy is not added")
            #expect(try store.certificates(validAt: .milliseconds(now)).map(\.reference.chunkID) == [first.id])

            let expiry = Fixture.rules.expiry(ofSlot: slot)
            var report = try await store.collectGarbage(upTo: .milliseconds(expiry))
            #expect(report.expiredPending == 1 && report.certificates == 1 && report.signedRows == 1)
            #expect(report.ledgerRows == 0, "slot 11 of window 2 is still live")
            #expect(report.evidenceRows == 0, "evidence is kept for its retention")
            #expect(try store.certificates(validAt: .milliseconds(0)).isEmpty)
            #expect(try await !store.addCertificate(Fixture.certificate(first)), "an expired certificate is refused")
            #expect(try store.evidence().count == 1)

            report = try await store.collectGarbage(upTo: .milliseconds(Fixture.rules.expiry(ofSlot: 11)))
            #expect(report.ledgerRows == 1)
            #expect(try store.ledgerUsage(producer: producer.nodeID, window: 2) == .zero)

            report = try await store.collectGarbage(upTo: .milliseconds(expiry + configuration.evidenceRetention))
            #expect(report.evidenceRows == 1)
            #expect(try store.evidence().isEmpty)
        }
    }
}
