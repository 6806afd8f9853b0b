import ChunkStore
import StoreMaintenance
import DSMR
import Foundation
import LMDB
import Testing

/// `recover -o` of a store one of whose two meta pages is damaged: the
/// other one still leads to a whole tree, so salvage reads from a private
/// copy whose damaged page is rewritten from the survivor, and never writes
/// the original.
@Suite struct MetaPageSalvageTests {
    /// A store whose newest transaction added `late` after `early` was
    /// committed under the other meta page; returns the chunks of each and
    /// the index of the newest meta page.
    static func storeWithTwoGenerations(
        _ bed: MaintenanceTestbed
    ) async throws -> (
        early: [Chunk], late: Chunk, newest: Int
    ) {
        let store = try bed.open("a")
        let early = try await MaintenanceTestbed.fill(store)
        store.close()
        let before = try #require(try DataFileCheck.validate(directory: bed.path("a")))
        let reopened = try bed.open("a")
        let late = MaintenanceTestbed.chunk(producer: 1, slot: 8)
        _ = try await reopened.persistAndSign(
            late, validators: MaintenanceTestbed.validators, now: .milliseconds(8_000))
        reopened.close()
        let after = try #require(try DataFileCheck.validate(directory: bed.path("a")))
        // One commit: the other meta page still holds the earlier state.
        try #require(after.transactionID == before.transactionID + 1 && after.index != before.index)
        return (early, late, after.index)
    }

    enum Damage: CaseIterable {
        case zeroed, corrupted
    }

    static func damage(_ page: Int, _ damage: Damage, in directory: String) throws {
        let path = directory + "/data.mdb"
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        // LMDB's page size is the system's; meta page 0 may be zeroed already.
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = page * pageSize
        switch damage {
        case .zeroed:
            bytes.replaceSubrange(start..<start + pageSize, with: repeatElement(0, count: pageSize))
        case .corrupted:
            // The main tree's root page number (after the page header, the
            // meta's magic, version, address, map size and free-page tree).
            for offset in 128..<136 { bytes[start + offset] = 0xA5 }
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    @Test(arguments: [0, 1], Damage.allCases)
    func recoverReadsTheRowsCommittedUnderTheSurvivingMetaPage(page: Int, damage: Damage) async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let (early, late, newest) = try await Self.storeWithTwoGenerations(bed)
        try Self.damage(page, damage, in: bed.path("a"))
        let damaged = try Data(contentsOf: URL(fileURLWithPath: bed.path("a/data.mdb")))
        #expect(throws: ChunkStoreError.self) { try ChunkStore(adopting: bed.path("a"), readOnly: true).close() }

        let run = try StoreToolTests.run(["recover", "-s", bed.path("a"), "-o", bed.path("out"), "--json"])
        let report = try JSONDecoder().decode(SalvageReport.self, from: Data(run.output.utf8))
        let fallback = try #require(report.metaPageFallback, "\(run.error)")
        #expect(fallback.damagedPage == page)
        #expect(fallback.usedPage == 1 - page)
        #expect(fallback.problem.contains("meta page \(page)"))
        #expect(run.status == 2, "a damaged meta page is damage found: \(run.error)")
        #expect(report.tables.values.allSatisfy { $0.lost.isEmpty && $0.rowsDropped == 0 })
        #expect(report.check.isClean, "\(report.check.problems)")

        let salvaged = try ChunkStore(adopting: bed.path("out"), readOnly: true)
        defer { salvaged.close() }
        let rules = MaintenanceTestbed.rules
        for chunk in early { #expect(try salvaged.chunk(ChunkReference(chunk: chunk, rules: rules)) != nil) }
        // The late chunk was committed under the newest meta page only.
        let lateKept = try salvaged.chunk(ChunkReference(chunk: late, rules: rules)) != nil
        #expect(lateKept == (page != newest), "newest meta page \(newest), damaged \(page)")
        #expect(try salvaged.acceptedTip()?.height == 1)
        // The damaged original is as it was; the private copy is gone.
        #expect(try Data(contentsOf: URL(fileURLWithPath: bed.path("a/data.mdb"))) == damaged)
        let left = try FileManager.default.contentsOfDirectory(atPath: bed.directory)
        #expect(Set(left) == ["a", "out"], "\(left)")

        let text = try StoreToolTests.run(["recover", "-s", bed.path("a"), "-o", bed.path("out2")])
        #expect(text.output.contains("meta page \(page) is damaged"), "\(text.output)")
        #expect(text.output.contains("read from meta page \(1 - page)"), "\(text.output)")
    }

    @Test func bothMetaPagesDamagedIsStillRefused() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        _ = try await Self.storeWithTwoGenerations(bed)
        try Self.damage(0, .zeroed, in: bed.path("a"))
        try Self.damage(1, .zeroed, in: bed.path("a"))
        let run = try StoreToolTests.run(["recover", "-s", bed.path("a"), "-o", bed.path("out")])
        #expect(run.status == 2, "\(run.error)")
        #expect((run.output + run.error).contains("/data.mdb is not an LMDB environment"), "\(run.output)")
    }
}
