import ChunkStore
import DSMR
import Foundation
import Testing

/// `dsmr-store` prints a chain time as its milliseconds and the UTC date
/// they stand for; `--json` keeps the raw value.
@Suite struct ChainTimeTextTests {
    /// The date Foundation gives for `milliseconds`, in the tool's format.
    static func utc(_ milliseconds: Int64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss.SSS"
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1_000)) + " UTC"
    }

    @Test func statsShowAndGCPrintTheUTCDateBesideTheMilliseconds() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        let chunks = try await MaintenanceTestbed.fill(store)
        let watermark = try store.watermark()
        let tip = try #require(try store.acceptedTip())
        let block = try #require(try store.block(at: tip.height))
        let expiry = try #require(try store.locate(chunks[0].id))
        let held = try #require(try store.summary(of: chunks[0].id, expiry: expiry))
        store.close()
        #expect(watermark > 0)

        let stats = try StoreToolTests.run(["stats", "-s", bed.path("a")])
        #expect(stats.status == 0, "\(stats.error)")
        #expect(stats.output.contains("watermark    \(watermark) ms (\(Self.utc(watermark)))"), "\(stats.output)")

        let json = try StoreToolTests.run(["stats", "-s", bed.path("a"), "--json"])
        #expect(
            json.output.contains("\"watermark\" : \(watermark)") || json.output.contains("\"watermark\":\(watermark)"))
        #expect(!json.output.contains("UTC"))

        let shownBlock = try StoreToolTests.run(["show", "-s", bed.path("a"), "--height", "\(block.height)"])
        #expect(shownBlock.status == 0, "\(shownBlock.error)")
        #expect(
            shownBlock.output.contains("timestamp  \(block.timestamp) ms (\(Self.utc(block.timestamp)))"),
            "\(shownBlock.output)")

        let shownChunk = try StoreToolTests.run(["show", "-s", bed.path("a"), "\(chunks[0].id)"])
        #expect(shownChunk.status == 0, "\(shownChunk.error)")
        #expect(
            shownChunk.output.contains("expiry       \(held.expiry) ms (\(Self.utc(held.expiry)))"),
            "\(shownChunk.output)")

        let collected = try StoreToolTests.run(["gc", "-s", bed.path("a"), "--dry-run"])
        #expect(collected.status == 0, "\(collected.error)")
        #expect(collected.output.hasPrefix("watermark \(watermark) ms (\(Self.utc(watermark)))"), "\(collected.output)")
    }
}
