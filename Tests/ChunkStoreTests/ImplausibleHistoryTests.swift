import ChunkStore
import StoreMaintenance
import DSMR
import Foundation
import Testing

/// A signing history whose watermark or floor lies far beyond the store's
/// chain time would, once imported, let the next collection remove every
/// row: such a history is refused unless forced.
@Suite struct ImplausibleHistoryTests {
    /// The importing node's clock in these tests.
    static let now = ChainTime.milliseconds(20_000)

    static var bounds: ChainTimeBounds {
        ChainTimeBounds(reference: now, rules: MaintenanceTestbed.rules)
    }

    @Test func theBoundsFollowTheRulesAndTheLaterOfClockAndWatermark() {
        let rules = MaintenanceTestbed.rules
        let bounds = Self.bounds
        #expect(bounds.watermark == 20_000 + rules.maxBlockSkew + rules.epochDuration)
        #expect(bounds.lowSlot == rules.slot(at: bounds.watermark) + rules.maxFutureSlots + 1)
        let saturated = ChainTimeBounds(reference: .milliseconds(.max - 1), rules: rules)
        #expect(saturated.watermark == .max)
    }

    @Test func aWatermarkBeyondTheBoundIsRefusedNamingItAndNothingChanges() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        let chunks = try await MaintenanceTestbed.fill(store)
        var history = try store.exportSigningHistory()
        for absurd in [Int64.max, Self.bounds.watermark + 1] {
            history.metadata.lowWatermark = absurd
            await #expect {
                _ = try await store.importSigningHistory(history, now: Self.now)
            } throws: { error in
                ChunkStoreError.Code.implausible ~= error && "\(error)".contains("low_watermark \(absurd)")
                    && "\(error)".contains("\(Self.bounds.watermark)")
            }
        }
        #expect(try store.watermark() == 1_500)
        #expect(try store.chunks(status: .pending).count == chunks.count - 1)

        history.metadata.lowWatermark = Self.bounds.watermark
        let result = try await store.importSigningHistory(history, now: Self.now)
        #expect(result.watermark == Self.bounds.watermark)
        store.close()
    }

    @Test func aFloorBeyondTheBoundIsRefusedNamingIt() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        try await MaintenanceTestbed.fill(store)
        var history = try store.exportSigningHistory()
        history.metadata.lowSlot = Self.bounds.lowSlot + 1
        await #expect {
            _ = try await store.importSigningHistory(history, now: Self.now)
        } throws: { error in
            ChunkStoreError.Code.implausible ~= error && "\(error)".contains("low_slot \(Self.bounds.lowSlot + 1)")
        }
        // Nothing was raised: the slot just above the old floor still signs.
        _ = try await store.persistAndSign(
            MaintenanceTestbed.chunk(producer: 1, slot: 7), validators: MaintenanceTestbed.validators,
            now: .milliseconds(7_000))
        store.close()
    }

    @Test func theBoundMovesWithTheStoresOwnWatermark() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        try await MaintenanceTestbed.fill(store)
        let far = Self.bounds.watermark * 4
        try await store.collectGarbage(upTo: .milliseconds(far))
        var history = try store.exportSigningHistory()
        history.metadata.lowWatermark = far + 1_000
        let result = try await store.importSigningHistory(history, now: Self.now)
        #expect(result.watermark == far + 1_000)
        store.close()
    }

    @Test func forceImportsAnImplausibleHistory() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        try await MaintenanceTestbed.fill(store)
        var history = try store.exportSigningHistory()
        history.metadata.lowWatermark = .max
        let result = try await store.importSigningHistory(history, now: Self.now, force: true)
        #expect(result.watermark == .max)
        #expect(try store.chunks(status: .pending).isEmpty)
        store.close()
    }

    @Test func theToolRefusesAnAbsurdWatermarkUnlessForced() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        try await MaintenanceTestbed.fill(store)
        var history = try store.exportSigningHistory()
        store.close()
        history.metadata.lowWatermark = .max
        try Data(history.json()).write(to: URL(fileURLWithPath: bed.path("absurd.json")))

        let refused = try StoreToolTests.run(["import-signing-history", "-s", bed.path("a"), bed.path("absurd.json")])
        #expect(refused.status == 1)
        #expect(refused.error.contains("low_watermark \(Int64.max)") && refused.error.contains("--force"))
        let kept = try ChunkStore(adopting: bed.path("a"), readOnly: true)
        #expect(try kept.watermark() == 1_500)
        kept.close()

        let forced = try StoreToolTests.run([
            "import-signing-history", "-s", bed.path("a"), "--force", bed.path("absurd.json"),
        ])
        #expect(forced.status == 0, "\(forced.error)")
        let moved = try ChunkStore(adopting: bed.path("a"), readOnly: true)
        #expect(try moved.watermark() == .max)
        moved.close()
    }
}
