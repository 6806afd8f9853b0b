import ChunkStore
import DSMR
import Foundation
import Testing

/// Collecting garbage up to a time far beyond the store's chain time removes
/// every row: `dsmr-store gc --watermark` (and a collection bounded by the
/// clock) refuses such a time unless forced.
@Suite struct ImplausibleWatermarkTests {
    @Test func theToolRefusesAnAbsurdWatermarkUnlessForcedAndChangesNothing() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        let chunks = try await MaintenanceTestbed.fill(store)
        store.close()

        for flags in [["--dry-run"], []] {
            let refused = try StoreToolTests.run(["gc", "-s", bed.path("a"), "--watermark", "\(Int64.max)"] + flags)
            #expect(refused.status == 1, "\(flags): \(refused.output)")
            #expect(
                refused.error.contains("watermark \(Int64.max)") && refused.error.contains("--force")
                    && refused.error.contains("implausible"), "\(refused.error)")
        }
        let kept = try ChunkStore(adopting: bed.path("a"), readOnly: true)
        #expect(try kept.watermark() == 1_500)
        #expect(try kept.chunks(status: .pending).count == chunks.count - 1)
        kept.close()

        let forced = try StoreToolTests.run(["gc", "-s", bed.path("a"), "--watermark", "\(Int64.max)", "--force"])
        #expect(forced.status == 0, "\(forced.error)")
        let emptied = try ChunkStore(adopting: bed.path("a"), readOnly: true)
        #expect(try emptied.watermark() == .max)
        #expect(try emptied.chunks(status: .pending).isEmpty)
        emptied.close()
    }
}

extension ImplausibleWatermarkTests {
    /// The collecting node's clock in these tests.
    static let now = ChainTime.milliseconds(20_000)

    static var bounds: ChainTimeBounds { ChainTimeBounds(reference: now, rules: MaintenanceTestbed.rules) }

    @Test func aCollectionBeyondTheBoundIsRefusedNamingItAndOneAtTheBoundRuns() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        defer { store.close() }
        let chunks = try await MaintenanceTestbed.fill(store)
        let bound = Self.bounds.watermark
        for absurd in [Int64.max, bound + 1] {
            for preview in [true, false] {
                await #expect {
                    let time = ChainTime.milliseconds(absurd)
                    _ =
                        try await preview
                        ? store.previewGarbage(upTo: time, now: Self.now)
                        : store.collectGarbage(upTo: time, now: Self.now)
                } throws: { error in
                    ChunkStoreError.Code.implausible ~= error && "\(error)".contains("the watermark \(absurd) ")
                        && "\(error)".contains("beyond \(bound),")
                }
            }
        }
        #expect(try store.watermark() == 1_500)
        #expect(try store.chunks(status: .pending).count == chunks.count - 1)

        let report = try await store.collectGarbage(upTo: .milliseconds(bound), now: Self.now)
        #expect(report.watermark == bound && report.expiredPending == chunks.count - 1)
        #expect(try store.chunks(status: .pending).isEmpty)
    }

    @Test func theBoundMovesWithTheStoresOwnWatermarkAndForceLiftsIt() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        defer { store.close() }
        try await MaintenanceTestbed.fill(store)
        let far = Self.bounds.watermark * 4
        try await store.collectGarbage(upTo: .milliseconds(far), now: Self.now, force: true)
        // Measured from the store's watermark now, not the clock.
        let moved = ChainTimeBounds(reference: .milliseconds(far), rules: MaintenanceTestbed.rules).watermark
        try await store.collectGarbage(upTo: .milliseconds(moved), now: Self.now)
        #expect(try store.watermark() == moved)
        await #expect(throws: ChunkStoreError.self) {
            try await store.collectGarbage(upTo: .milliseconds(moved * 2 + 1), now: Self.now)
        }
    }
}
