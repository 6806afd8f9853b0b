import ChunkStore
import StoreMaintenance
import DSMR
import Foundation
import LMDB
import LMDBForensics
import Testing

/// `certificates` and `blocks` rows written before rows carried checksums
/// still read; `compact` and salvage rewrite every such row in the
/// checksummed form, and `check` counts the rows that lack one.
@Suite struct ChecksumUpgradeTests {
    /// A filled store at `bed.path("a")` whose certificate rows (all but
    /// every third) and block rows are rewritten in the form without a
    /// checksum; returns how many of each.
    static func legacyStore(_ bed: MaintenanceTestbed) async throws -> (certificates: Int, blocks: Int) {
        let store = try bed.open("a")
        try await MaintenanceTestbed.fill(store)
        store.close()
        var counts = (certificates: 0, blocks: 0)
        try bed.withRawEnvironment("a") { env in
            let certificates = try env.database("certificates")
            let blocks = try env.database("blocks")
            try env.write { txn in
                var rows: [(database: Database, key: [UInt8], value: [UInt8])] = []
                var index = 0
                try txn.scan(certificates) { entry in
                    defer { index += 1 }
                    let value = Array(entry.value)
                    // Form byte 0x80 | status, checksum (8), certificate.
                    if index % 3 != 0 { rows.append((certificates, Array(entry.key), [value[0] & 0x7F] + value[9...])) }
                    return .next
                }
                counts.certificates = rows.count
                try txn.scan(blocks) { entry in
                    rows.append((blocks, Array(entry.key), Array(entry.value.dropLast(8))))
                    return .next
                }
                counts.blocks = rows.count - counts.certificates
                for row in rows { try txn.put(row.value, forKey: row.key, in: row.database) }
            }
        }
        return counts
    }

    /// How many rows of `certificates` and `blocks` in the store at `path`
    /// are in the form without a checksum, read straight from LMDB.
    static func uncheckedRows(_ bed: MaintenanceTestbed, _ name: String) throws -> (certificates: Int, blocks: Int) {
        var counts = (certificates: 0, blocks: 0)
        // The size of each block's canonical bytes, by height.
        let store = try ChunkStore(adopting: bed.path(name), readOnly: true)
        var sizes: [UInt64: Int] = [:]
        var height: UInt64 = 1
        while let block = try store.block(at: height) {
            sizes[height] = block.encoded().count
            height += 1
        }
        store.close()
        try bed.withRawEnvironment(name) { env in
            let certificates = try env.database("certificates")
            let blocks = try env.database("blocks")
            try env.read { txn in
                try txn.scan(certificates) { entry in
                    if entry.value.first.map({ $0 & 0x80 == 0 }) ?? false { counts.certificates += 1 }
                    return .next
                }
                try txn.scan(blocks) { entry in
                    let height = entry.key.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                    // A checked row is the block, then a root or not, then 8 bytes.
                    let size = try #require(sizes[height])
                    if (entry.value.count - size) % 32 == 0 { counts.blocks += 1 }
                    return .next
                }
            }
        }
        return counts
    }

    @Test func theLegacyStoreReadsAndHoldsRowsWithoutChecksums() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let written = try await Self.legacyStore(bed)
        #expect(written.certificates > 0 && written.blocks == 1)
        let counted = try Self.uncheckedRows(bed, "a")
        #expect(counted == written)
    }

    @Test func checkCountsTheRowsWithoutAChecksumAndStaysClean() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let written = try await Self.legacyStore(bed)
        let store = try ChunkStore(adopting: bed.path("a"), readOnly: true)
        let report = try store.check()
        store.close()
        #expect(report.isClean, "\(report.problems)")
        #expect(report.rowsWithoutChecksum == ["certificates": written.certificates, "blocks": written.blocks])
        let run = try StoreToolTests.run(["check", "-s", bed.path("a")])
        #expect(run.status == 0, "\(run.output)")
        #expect(
            run.output.contains("1 blocks and \(written.certificates) certificates rows lack a checksum"),
            "\(run.output)")

        _ = try ChunkStore.compactInPlace(at: bed.path("a"))
        let compacted = try ChunkStore(adopting: bed.path("a"), readOnly: true)
        defer { compacted.close() }
        let after = try compacted.check()
        #expect(after.isClean && after.rowsWithoutChecksum.isEmpty, "\(after)")
    }

    @Test func compactToANewStoreRewritesEveryRowWithItsChecksum() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        _ = try await Self.legacyStore(bed)
        let store = try ChunkStore(adopting: bed.path("a"), readOnly: true)
        try store.compact(to: bed.path("c"))
        store.close()
        #expect(try Self.uncheckedRows(bed, "c") == (0, 0))
        #expect(try Self.uncheckedRows(bed, "a") != (0, 0), "the source was changed")
        // Still a compacted file: every page is in use.
        let walk = try #require(try PageWalk.verify(directory: bed.path("c")))
        #expect(walk.freePages == 0 && walk.isAccounted && walk.leakedPages == 0, "\(walk)")
    }

    @Test func compactInPlaceRewritesEveryRowWithItsChecksum() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        _ = try await Self.legacyStore(bed)
        let run = try StoreToolTests.run(["compact", "-s", bed.path("a"), "--in-place"])
        #expect(run.status == 0, "\(run.error)")
        #expect(try Self.uncheckedRows(bed, "a") == (0, 0))
        let reopened = try ChunkStore(adopting: bed.path("a"), readOnly: true)
        defer { reopened.close() }
        #expect(try reopened.check().isClean)
    }

    @Test func recoverIntoANewStoreRewritesEveryRowWithItsChecksum() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let written = try await Self.legacyStore(bed)
        let run = try StoreToolTests.run(["recover", "-s", bed.path("a"), "-o", bed.path("d")])
        #expect(run.status == 0, "\(run.output) \(run.error)")
        #expect(try Self.uncheckedRows(bed, "d") == (0, 0))
        let salvaged = try ChunkStore(adopting: bed.path("d"), readOnly: true)
        defer { salvaged.close() }
        #expect(try salvaged.check().isClean)
        #expect(try salvaged.certificates(validAt: .milliseconds(0), limit: 1_000).count >= written.certificates)
    }
}
