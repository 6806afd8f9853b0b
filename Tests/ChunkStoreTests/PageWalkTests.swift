import ChunkStore
import StoreMaintenance
import DSMR
import DSMRTestSupport
import Foundation
import LMDB
import LMDBForensics
import Testing

/// Damage to LMDB's page structure that leaves every row readable: `check`
/// must still find it, and must not raise false alarms on a healthy store.
@Suite struct PageWalkTests {
    /// A store after the signing workload of `DamagedCopyTests`, closed.
    private static func writtenStore(_ bed: MaintenanceTestbed) async throws -> String {
        let store = try bed.open("store")
        try await DamagedCopyTests.writeWorkload(store)
        store.close()
        return bed.path("store")
    }

    @Test func aFreeListEntryNamingALivePageIsDamage() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let path = try await Self.writtenStore(bed)
        let clean = try #require(try PageWalk.verify(directory: path))
        #expect(clean.problems.isEmpty, "\(clean.problems)")
        let live = try FreeListEdit.replaceFirstFreePage(in: path + "/data.mdb")
        let run = try ToolRun.dsmrStore(["check", "-s", path], deadline: 60)
        #expect(run.status == 2, "check exited \(run.status): \(run.output) \(run.error)")
        #expect(run.output.contains("page \(live)") || run.error.contains("page \(live)"), "\(run.output)")
    }

    @Test func aBranchPointerRedirectedToAnotherLivePageIsFound() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let path = try await Self.writtenStore(bed)
        let target = try FreeListEdit.redirectFirstBranchPointer(in: path + "/data.mdb")
        let report = try #require(try PageWalk.verify(directory: path))
        #expect(report.problems.contains { $0.page == target }, "\(report.problems)")
        let run = try ToolRun.dsmrStore(["check", "-s", path], deadline: 60)
        #expect(run.status == 2, "check exited \(run.status): \(run.output) \(run.error)")
    }

    /// Salvage starts reading at leaf pages after damage from the keys the
    /// branch pages hold: one per leaf page but the first, in key order.
    @Test func leafBoundariesAreOnePerLeafPageButTheFirstInKeyOrder() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("store")
        try await MaintenanceTestbed.fill(store, slots: 1...40)
        store.close()
        var deep = 0
        for table in ["chunks", "by_expiry", "signed", "certificates"] {
            let boundaries = try #require(try PageWalk.leafBoundaries(directory: bed.path("store"), database: table))
            var statistics: DatabaseStatistics?
            try bed.withRawEnvironment("store") { environment in
                statistics = try environment.statistics(of: try environment.database(table))
            }
            let leaves = try #require(statistics).leafPages
            #expect(boundaries.complete && boundaries.keys.count == leaves - 1, "\(table): \(leaves) leaves")
            #expect(zip(boundaries.keys, boundaries.keys.dropFirst()).allSatisfy { $0.lexicographicallyPrecedes($1) })
            if leaves > 2 { deep += 1 }
        }
        #expect(deep >= 2)
        #expect(try PageWalk.leafBoundaries(directory: bed.path("store"), database: "no_such_table") == nil)
    }

    /// A page neither reachable nor listed free is lost space: `check`
    /// reports it and says what reclaims it. LMDB's compacting copy counts
    /// pages and refuses the file; `recover -o` copies the rows into a new
    /// store that accounts for every page.
    @Test func aPageDroppedFromTheFreeListIsReportedLeakedAndRecoverIntoANewStoreReclaimsIt() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let path = try await Self.writtenStore(bed)
        let leaked = try FreeListEdit.dropLastFreePage(in: path + "/data.mdb")
        let run = try ToolRun.dsmrStore(["check", "-s", path], deadline: 60)
        #expect(run.status == 2, "check exited \(run.status): \(run.output) \(run.error)")
        #expect(run.output.contains("pageLeaked in pages at \(Self.hex(leaked))"), "\(run.output)")
        #expect(run.output.contains("page \(leaked) is neither reachable"), "\(run.output)")
        #expect(run.output.contains("compact refuses the store; recover -o copies the rows"), "\(run.output)")
        let report = try #require(try PageWalk.verify(directory: path))
        #expect(report.problems.isEmpty && report.isAccounted, "\(report.problems)")
        #expect(report.leakedPages == 1 && report.leakedRuns == [leaked...leaked])

        let compacted = try ToolRun.dsmrStore(["compact", "-s", path, "-o", bed.path("compacted")], deadline: 60)
        #expect(compacted.status == 2 && compacted.error.contains("MDB_INCOMPATIBLE"), "\(compacted.error)")
        let salvaged = try ToolRun.dsmrStore(["recover", "-s", path, "-o", bed.path("salvaged")], deadline: 60)
        #expect(salvaged.status == 0, "\(salvaged.output) \(salvaged.error)")
        let clean = try ToolRun.dsmrStore(["check", "-s", bed.path("salvaged")], deadline: 60)
        #expect(clean.status == 0, "\(clean.output)")
        let accounted = try #require(try PageWalk.verify(directory: bed.path("salvaged")))
        #expect(accounted.isAccounted && accounted.leakedPages == 0)
    }

    /// Pages freed while another process reads an older snapshot cannot be
    /// reused and stay listed under the freeing commits: every page is
    /// still accounted for, and nothing is called leaked.
    @Test func pagesFreedWhileAnOlderSnapshotIsReadAreAccountedFor() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        try await MaintenanceTestbed.fill(store, slots: 1...10)
        store.close()
        let reader = try ChildProcess(try builtExecutable("lmdb-reader-child"), [bed.path("a")])
        defer {
            reader.killHard()
            _ = reader.wait()
        }
        #expect(try reader.readLine(timeout: 20) == "ready")
        let written = try bed.open("a")
        defer { written.close() }
        for slot in UInt64(11)...30 {
            for producer in 1...3 {
                _ = try await written.persistAndSign(
                    MaintenanceTestbed.chunk(producer: producer, slot: slot, payload: UInt8(slot)),
                    validators: MaintenanceTestbed.validators, now: .milliseconds(Int64(slot) * 1_000))
            }
        }
        try await written.collectGarbage(upTo: .milliseconds(25_000))
        let report = try written.check()
        #expect(report.isClean, "\(report.problems)")
        let walk = try #require(try PageWalk.verify(directory: bed.path("a")))
        #expect(walk.isAccounted && walk.leakedPages == 0 && walk.freePages > 0, "\(walk)")
        #expect(walk.reachablePages + walk.freePages == Int(walk.lastPage) - 1)
    }

    /// Nested transactions rolled back (dry-run collections, each deleting
    /// and rewriting pages) and refused signing requests return every page
    /// they took: nothing is called leaked.
    @Test func rolledBackNestedTransactionsLeakNoPage() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        let chunks = try await MaintenanceTestbed.fill(store, slots: 1...30)
        for upTo in stride(from: Int64(5_000), through: 40_000, by: 5_000) {
            _ = try await store.previewGarbage(upTo: .milliseconds(upTo))
        }
        // A second chunk for a slot already signed is refused inside the batch.
        for chunk in chunks.prefix(10) {
            _ = try? await store.persistAndSign(
                MaintenanceTestbed.chunk(producer: 1, slot: chunk.slot, payload: 0xEE),
                validators: MaintenanceTestbed.validators, now: .milliseconds(Int64(chunk.slot) * 1_000))
        }
        try await store.collectGarbage(upTo: .milliseconds(20_000))
        _ = try await store.previewGarbage(upTo: .milliseconds(40_000))
        store.close()
        let walk = try #require(try PageWalk.verify(directory: bed.path("a")))
        #expect(walk.problems.isEmpty && walk.isAccounted && walk.leakedPages == 0, "\(walk)")
        #expect(walk.reachablePages + walk.freePages == Int(walk.lastPage) - 1)
    }

    static func hex(_ page: UInt64) -> String {
        (0..<8).map { String(format: "%02x", UInt8(truncatingIfNeeded: page >> (56 - 8 * $0))) }.joined()
    }

    @Test func aHealthyStoreHasNoPageProblems() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let path = try await Self.writtenStore(bed)
        let report = try #require(try PageWalk.verify(directory: path))
        #expect(report.problems.isEmpty, "\(report.problems)")
        #expect(report.freePages > 0 && report.reachablePages > 2)
        // Every page but the two meta pages is in use or free, none both.
        #expect(report.isAccounted && report.leakedPages == 0 && report.leakedRuns.isEmpty)
        #expect(report.reachablePages + report.freePages == Int(report.lastPage) - 1)
    }
}

/// Rewrites the first page number of the first free list in a data file
/// (free-page tree of depth 1) to the main tree's root page.
enum FreeListEdit {
    static func replaceFirstFreePage(in file: String) throws -> UInt64 {
        var data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
        func u(_ at: Int, _ n: Int) -> Int { (0..<n).reduce(0) { $0 | Int(data[at + $1]) << (8 * $1) } }
        let pageSize = u(40, 4)  // the free MDB_db's md_pad holds the page size
        let metaAt = u(144, 8) >= u(pageSize + 144, 8) ? 0 : pageSize
        let freeRoot = u(metaAt + 80, 8), mainRoot = u(metaAt + 128, 8)
        try #require(u(metaAt + 46, 2) == 1, "the free-page tree is not a single leaf")
        let page = freeRoot * pageSize
        let node = page + u(page + 16, 2)
        let value = node + 8 + u(node + 6, 2)
        try #require(u(node + 4, 2) == 0 && u(value, 8) > 0, "the first free list is not inline")
        for byte in 0..<8 { data[value + 8 + byte] = UInt8((mainRoot >> (8 * byte)) & 0xFF) }
        try Data(data).write(to: URL(fileURLWithPath: file))
        return UInt64(mainRoot)
    }

    /// Takes the last page number off the first free list (free-page tree of
    /// depth 1) by lowering its count, so that page is neither reachable nor
    /// listed free; returns it.
    static func dropLastFreePage(in file: String) throws -> UInt64 {
        var data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
        func u(_ at: Int, _ n: Int) -> Int { (0..<n).reduce(0) { $0 | Int(data[at + $1]) << (8 * $1) } }
        let pageSize = u(40, 4)
        let metaAt = u(144, 8) >= u(pageSize + 144, 8) ? 0 : pageSize
        let freeRoot = u(metaAt + 80, 8)
        try #require(u(metaAt + 46, 2) == 1, "the free-page tree is not a single leaf")
        let page = freeRoot * pageSize
        let node = page + u(page + 16, 2)
        let value = node + 8 + u(node + 6, 2)
        let count = u(value, 8)
        try #require(u(node + 4, 2) == 0 && count > 0, "the first free list is not inline")
        let dropped = u(value + 8 * count, 8)
        for byte in 0..<8 { data[value + byte] = UInt8(((count - 1) >> (8 * byte)) & 0xFF) }
        try Data(data).write(to: URL(fileURLWithPath: file))
        return UInt64(dropped)
    }

    /// Points the first child of the first branch page at its second child;
    /// returns that child's page number.
    static func redirectFirstBranchPointer(in file: String) throws -> UInt64 {
        var data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
        func u(_ at: Int, _ n: Int) -> Int { (0..<n).reduce(0) { $0 | Int(data[at + $1]) << (8 * $1) } }
        let pageSize = u(40, 4)
        // A named database of depth 2 or more, from the main tree's root leaf: its root is a live branch page.
        let metaAt = u(144, 8) >= u(pageSize + 144, 8) ? 0 : pageSize
        let main = u(metaAt + 128, 8) * pageSize
        try #require(u(main + 10, 2) == 0x02, "the main tree is not a single leaf")
        let roots = (0..<((u(main + 12, 2) - 16) / 2)).compactMap { index -> Int? in
            let node = main + u(main + 16 + index * 2, 2)
            let record = node + 8 + u(node + 6, 2)
            return u(node + 4, 2) == 0x02 && u(record + 6, 2) >= 2 ? u(record + 40, 8) : nil
        }
        let branch = try #require(roots.first, "no named database has branch pages")
        let page = branch * pageSize
        let first = page + u(page + 16, 2), second = page + u(page + 18, 2)
        for byte in 0..<6 { data[first + byte] = data[second + byte] }  // mn_lo, mn_hi, mn_flags: the child
        try Data(data).write(to: URL(fileURLWithPath: file))
        return UInt64(u(second, 4))
    }
}
