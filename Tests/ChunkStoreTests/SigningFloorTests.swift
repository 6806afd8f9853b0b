import ChunkStore
import StoreMaintenance
import DSMR
import Testing

/// No change of rules, restore or import may reopen a slot whose `signed`
/// row was pruned.
@Suite struct SigningFloorTests {
    static let producer = 1
    static let slot: UInt64 = 10
    static let first = MaintenanceTestbed.chunk(producer: producer, slot: slot, payload: 1)
    static let second = MaintenanceTestbed.chunk(producer: producer, slot: slot, payload: 2)

    /// Signs `first` for slot 10 (expiry 20 s) and accepts a block at 21 s,
    /// which prunes the slot's `signed` row.
    static func signAndPrune(_ store: ChunkStore) async throws {
        _ = try await store.persistAndSign(first, validators: MaintenanceTestbed.validators, now: .milliseconds(10_000))
        let block = Block(parent: .zero, height: 1, timestamp: 21_000, certificates: [])
        let report = try await store.recordAccepted(block)
        #expect(report.garbage.signedRows == 1)
    }

    static func longerLifetime(_ configuration: StoreConfiguration) -> StoreConfiguration {
        var changed = configuration
        changed.rules.chunkLifetime = 60_000
        changed.acceptTimingChange = true
        return changed
    }

    static func expectRefused(_ store: ChunkStore) async throws {
        let code = await errorCode {
            try await store.persistAndSign(
                second, validators: MaintenanceTestbed.validators, now: .milliseconds(21_000))
        }
        #expect(code == .expired)
        #expect(try store.signedChunk(producer: second.producer, slot: Slot(slot)) == nil)
    }

    @Test func aLongerLifetimeDoesNotReopenAPrunedSlot() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        try await Self.signAndPrune(store)
        store.close()

        let reopened = try ChunkStore(Self.longerLifetime(bed.configuration("a")))
        try await Self.expectRefused(reopened)
        // Recovery rebuilds derived rows and leaves the floor as it was.
        _ = try await reopened.recover()
        try await Self.expectRefused(reopened)
        reopened.close()
    }

    @Test func aTimingChangeRaisesTheFloorOfAStoreThatHasNone() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        try await Self.signAndPrune(store)
        store.close()
        // As a store written before the floor existed: the watermark alone.
        try bed.withRawEnvironment("a") { env in
            let meta = try env.database("meta")
            let deleted = try env.write { txn in try txn.delete(Array("signing_floor".utf8), in: meta) }
            #expect(deleted)
        }
        let reopened = try ChunkStore(Self.longerLifetime(bed.configuration("a")))
        try await Self.expectRefused(reopened)
        reopened.close()
    }

    @Test func theFloorTravelsWithDumpsAndSigningHistories() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        try await Self.signAndPrune(store)
        try store.dump(to: bed.path("a.dump"))
        let history = try store.exportSigningHistory()
        store.close()

        try ChunkStore.load(dump: bed.path("a.dump"), into: bed.path("loaded"))
        let loaded = try ChunkStore(Self.longerLifetime(bed.configuration("loaded")))
        try await Self.expectRefused(loaded)
        loaded.close()

        let fresh = try ChunkStore(Self.longerLifetime(bed.configuration("fresh")))
        _ = try await fresh.importSigningHistory(history)
        try await Self.expectRefused(fresh)
        fresh.close()
    }

    @Test func rulesAllowingMoreThanOneChunkPerSlotAreRefused() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        var configuration = bed.configuration("a")
        configuration.rules.maxChunksPerSlot = 2
        #expect(await errorCode { try ChunkStore(configuration) } == .invalidConfiguration)
    }
}
