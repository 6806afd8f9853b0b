import ChunkStore
import DSMR
import Foundation
import Testing

/// `dsmr-store gc --dry-run` says what a collection would remove and
/// changes nothing.
@Suite struct GarbagePreviewTests {
    @Test func aDryRunReportsWhatGCWouldRemoveAndLeavesTheFileAsItWas() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        try await MaintenanceTestbed.fill(store)
        store.close()
        let data = bed.path("a") + "/data.mdb"
        let before = try Data(contentsOf: URL(fileURLWithPath: data))

        let preview = try StoreToolTests.run(["gc", "-s", bed.path("a"), "--dry-run", "--watermark", "14000", "--json"])
        #expect(preview.status == 0, "\(preview.error)")
        let wouldRemove = try JSONDecoder().decode(GarbageReport.self, from: Data(preview.output.utf8))
        #expect(wouldRemove.expiredPending > 0 && wouldRemove.signedRows > 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: data)) == before, "the dry run changed data.mdb")
        let unchanged = try ChunkStore(adopting: bed.path("a"), readOnly: true)
        #expect(try unchanged.watermark() == 1_500)
        unchanged.close()

        let collected = try StoreToolTests.run(["gc", "-s", bed.path("a"), "--watermark", "14000", "--json"])
        #expect(collected.status == 0, "\(collected.error)")
        #expect(try JSONDecoder().decode(GarbageReport.self, from: Data(collected.output.utf8)) == wouldRemove)
    }
}
