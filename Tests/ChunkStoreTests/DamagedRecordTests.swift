import ChunkStore
import StoreMaintenance
import DSMR
import LMDB
import Testing

/// A damaged chunk record neither stops acceptance nor is lost when its
/// bytes still prove what it is.
@Suite struct DamagedRecordTests {
    static let validators = MaintenanceTestbed.validators
    static let rules = MaintenanceTestbed.rules
    /// The first byte of a record header's checksum.
    static let checksumOffset = 79

    @Test func garbageCollectionRemovesAnExpiredDamagedRecordAndReportsIt() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        let damaged = MaintenanceTestbed.chunk(producer: 1, slot: 10)
        _ = try await store.persistAndSign(damaged, validators: Self.validators, now: .milliseconds(10_000))
        store.close()
        try bed.withRawEnvironment("a") { try RawDamage.flipRecord(damaged, at: Self.checksumOffset, $0) }

        let reopened = try bed.open("a")
        let block = Block(parent: .zero, height: 1, timestamp: 21_000, certificates: [])
        let report = try await reopened.recordAccepted(block)
        #expect(report.garbage.expiredPending == 1)
        #expect(report.garbage.damagedRecords == 1)
        #expect(try reopened.chunkBytes(damaged.id, expiry: Self.rules.expiry(ofSlot: 10)) == nil)
        let next = Block(parent: block.id, height: 2, timestamp: 22_000, certificates: [])
        try await reopened.recordAccepted(next)
        let check = try reopened.check()
        #expect(check.isClean, "\(check.problems)")
        reopened.close()
    }

    @Test func acceptingABlockThatNamesADamagedRecordReportsTheChunkMissing() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        let damaged = MaintenanceTestbed.chunk(producer: 1, slot: 10)
        _ = try await store.persistAndSign(damaged, validators: Self.validators, now: .milliseconds(10_000))
        store.close()
        try bed.withRawEnvironment("a") { try RawDamage.flipRecord(damaged, at: 1, $0) }

        let reopened = try bed.open("a")
        let certificate = MaintenanceTestbed.certificate(for: damaged)
        let block = Block(parent: .zero, height: 1, timestamp: 10_500, certificates: [certificate])
        let report = try await reopened.recordAccepted(block)
        #expect(report.missingChunks == [certificate.reference])
        // Fetched again, the chunk replaces the damaged record.
        try await reopened.storeAcceptedChunk(damaged, for: certificate.reference, validators: Self.validators)
        #expect(try reopened.summary(of: damaged.id, expiry: certificate.reference.expiry)?.status == .accepted)
        let check = try reopened.check()
        #expect(check.isClean, "\(check.problems)")
        reopened.close()
    }

    @Test func recoverRebuildsADamagedHeaderWhenTheChunkStillHashesToItsID() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        let chunks = try await MaintenanceTestbed.fill(store)
        store.close()
        let accepted = chunks[0]  // certified by the accepted block
        let pending = chunks[1]
        try bed.withRawEnvironment("a") { env in
            try RawDamage.flipRecord(accepted, at: 1, env)  // status: accepted becomes pending
            try RawDamage.flipRecord(pending, at: 5, env)  // a producer byte
        }

        let reopened = try bed.open("a")
        #expect(!(try reopened.check().isClean))
        let report = try await reopened.recover()
        #expect(report.chunksDropped == 0)
        #expect(report.headersRebuilt == 2)
        let check = try reopened.check()
        #expect(check.isClean, "\(check.problems)")
        let keptAccepted = try #require(
            try reopened.chunk(accepted.id, expiry: Self.rules.expiry(ofSlot: accepted.slot)))
        #expect(keptAccepted.chunk == accepted)
        #expect(keptAccepted.summary.status == .accepted && keptAccepted.summary.origin == .signed)
        let keptPending = try #require(try reopened.chunk(pending.id, expiry: Self.rules.expiry(ofSlot: pending.slot)))
        #expect(keptPending.summary.status == .pending && keptPending.summary.origin == .signed)
        #expect(keptPending.summary.producer == pending.producer)
        #expect(keptPending.summary.units.bandwidth == UInt64(pending.encoded().count))
        reopened.close()
    }

    @Test func recoverNeverLowersALedgerWhoseWindowLostASlotToCollection() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        // Window 2 holds slots 8...11. Slot 8's chunk expires at 18 s and is
        // collected at 18.5 s; slot 9's is kept.
        let collected = MaintenanceTestbed.chunk(producer: 1, slot: 8)
        let kept = MaintenanceTestbed.chunk(producer: 1, slot: 9)
        for chunk in [collected, kept] {
            _ = try await store.persistAndSign(chunk, validators: Self.validators, now: .milliseconds(9_000))
        }
        try await store.recordAccepted(Block(parent: .zero, height: 1, timestamp: 18_500, certificates: []))
        let producer = collected.producer
        let usage = try store.ledgerUsage(producer: producer, window: 2)
        #expect(usage.bandwidth == UInt64(collected.encoded().count + kept.encoded().count))
        store.close()

        // A longer lifetime makes slot 8 look live again.
        var configuration = bed.configuration("a")
        configuration.rules.chunkLifetime = 60_000
        configuration.acceptTimingChange = true
        let reopened = try ChunkStore(configuration)
        _ = try await reopened.recover()
        #expect(try reopened.ledgerUsage(producer: producer, window: 2) == usage)
        let check = try reopened.check()
        #expect(check.isClean, "\(check.problems)")
        reopened.close()
    }
}

/// After a longer chunk lifetime, chunks stored under the old one expire in
/// slots the new rules call live: their windows must not look complete.
@Suite struct LongerLifetimeTests {
    @Test func chunksCollectedUnderTheOldLifetimeLeaveTheirWindowsPartial() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        let first = MaintenanceTestbed.chunk(producer: 1, slot: 8)
        let second = MaintenanceTestbed.chunk(producer: 1, slot: 9)
        for chunk in [first, second] {
            _ = try await store.persistAndSign(chunk, validators: MaintenanceTestbed.validators, now: .seconds(9))
        }
        let usage = try store.ledgerUsage(producer: first.producer, window: 2)
        store.close()

        var configuration = bed.configuration("a")
        configuration.rules.chunkLifetime = 60_000
        configuration.acceptTimingChange = true
        let reopened = try ChunkStore(configuration)
        defer { reopened.close() }
        // Both expire by 19 s as stored (10 s lifetime) and are collected.
        let report = try await reopened.recordAccepted(
            Block(parent: .zero, height: 1, timestamp: 19_500, certificates: []))
        #expect(report.garbage.expiredPending == 2)
        let check = try reopened.check()
        #expect(check.isClean, "\(check.problems)")
        _ = try await reopened.recover()
        #expect(try reopened.ledgerUsage(producer: first.producer, window: 2) == usage)
        let rival = MaintenanceTestbed.chunk(producer: 1, slot: 9, payload: 7)
        let code = await errorCode {
            try await reopened.persistAndSign(rival, validators: MaintenanceTestbed.validators, now: .seconds(19))
        }
        #expect(code == .expired)
    }
}
