import ChunkStore
import StoreMaintenance
import DSMR
import DSMRTestSupport
import Foundation
import LMDB
import Testing

/// `ChunkStore.salvage(from:into:)` on stores damaged in their files: pages
/// zeroed on disk, rows that no longer decode.
@Suite struct SalvageTests {
    static let slots: ClosedRange<UInt64> = 1...40

    /// Reads in `dsmr-store read-table` children: LMDB aborts the process
    /// that walks onto a zeroed page.
    static func isolation() throws -> SalvageIsolation {
        .childProcess(executable: try builtExecutable("dsmr-store"), arguments: ["read-table"])
    }

    /// A compacted store (no free pages, so each row lives on exactly one
    /// page) of 120 chunks and 60 certificates at `bed.path("c")`.
    static func compactedStore() async throws -> (MaintenanceTestbed, [Chunk]) {
        let bed = MaintenanceTestbed()
        let store = try bed.open("a")
        let chunks = try await MaintenanceTestbed.fill(store, slots: slots)
        try store.compact(to: bed.path("c"))
        store.close()
        return (bed, chunks)
    }

    /// Zeroes, in the data file at `path`, the leaf page holding `key` with a
    /// value of `valueSize` bytes on the page (see `leafPage`). Returns the
    /// page number and how many rows the page held.
    @discardableResult
    static func zeroLeafPage(holding key: [UInt8], valueSize: Int, in path: String) throws -> (page: Int, rows: Int) {
        let found = try leafPage(holding: key, valueSize: valueSize, in: path)
        try zeroPage(found.page, in: path)
        return found
    }

    /// The leaf page, in the data file at `path`, holding `key` with a value
    /// of `valueSize` bytes on the page, and how many rows it holds. The key
    /// is found with its node header (value size, flags 0, key size;
    /// little-endian), so the same bytes in another table do not match.
    static func leafPage(holding key: [UInt8], valueSize: Int, in path: String) throws -> (page: Int, rows: Int) {
        try leafPage(holding: key, valueSize: valueSize, data: try dataFile(path))
    }

    /// The bytes of the data file of the store at `path`.
    static func dataFile(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path + "/data.mdb")))
    }

    /// `leafPage(holding:valueSize:in:)` in the data file's bytes `data`.
    static func leafPage(holding key: [UInt8], valueSize: Int, data: [UInt8]) throws -> (page: Int, rows: Int) {
        let size = UInt32(valueSize)
        let node =
            [UInt8(size & 0xFF), UInt8(size >> 8 & 0xFF), UInt8(size >> 16 & 0xFF), UInt8(size >> 24)]
            + [0, 0, UInt8(key.count), 0] + key
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let leafFlag: UInt16 = 0x02
        var found: [Int] = []
        for page in 2..<(data.count / pageSize) {
            let start = page * pageSize
            let flags = UInt16(data[start + 10]) | UInt16(data[start + 11]) << 8
            guard flags & leafFlag != 0 else { continue }
            if data[start..<start + pageSize].firstRange(of: node) != nil { found.append(page) }
        }
        try #require(found.count == 1, "leaf pages holding the key: \(found)")
        let start = found[0] * pageSize
        // The page header's lower bound: 16 header bytes, then 2 per row.
        let rows = (Int(data[start + 12]) | Int(data[start + 13]) << 8 - 16) / 2
        return (found[0], rows)
    }

    /// Overwrites page `page` of the data file at `path` with zeros.
    static func zeroPage(_ page: Int, in path: String) throws {
        let file = path + "/data.mdb"
        var data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        data.replaceSubrange(page * pageSize..<(page + 1) * pageSize, with: [UInt8](repeating: 0, count: pageSize))
        try Data(data).write(to: URL(fileURLWithPath: file))
    }

    /// A `certificates` value: status (1) and the certificate.
    static func certificateRowSize(_ chunk: Chunk) -> Int {
        1 + 8 + MaintenanceTestbed.certificate(for: chunk).encoded().count
    }

    static func chunkKey(_ chunk: Chunk) -> [UInt8] {
        TableCheckTests.bigEndian(UInt64(MaintenanceTestbed.rules.expiry(ofSlot: chunk.slot))) + chunk.id.bytes
    }

    @Test func aZeroedLeafPageLosesOnlyItsRowsAndTheReportNamesTheRange() async throws {
        let (bed, chunks) = try await Self.compactedStore()
        defer { bed.removeAll() }
        // Certificates are filed for every other chunk: the 30th of them.
        let certified = chunks.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
        let target = Self.chunkKey(certified[30])
        let zeroed = try Self.zeroLeafPage(
            holding: target, valueSize: Self.certificateRowSize(certified[30]), in: bed.path("c"))

        let report = try await ChunkStore.salvage(from: bed.path("c"), into: bed.path("d"), isolation: Self.isolation())
        let certificates = try #require(report.tables["certificates"])
        #expect(certificates.lost.count == 1, "\(report)")
        let lost = try #require(certificates.lost.first)
        let after = try #require(lost.after.flatMap { Hex.decode($0) })
        let before = try #require(lost.before.flatMap { Hex.decode($0) })
        #expect(after.lexicographicallyPrecedes(target) && target.lexicographicallyPrecedes(before), "\(lost)")
        // LMDB aborts on the zeroed page: the reading child died, not the salvage.
        #expect(lost.reason.contains("signal"), "\(lost)")
        // Every row but those on the zeroed page, which the report counts.
        #expect(zeroed.rows > 0 && certificates.rowsKept == certified.count - zeroed.rows)
        #expect(certificates.rowsStored == certified.count && certificates.rowsLost == zeroed.rows)
        #expect(certificates.rowsDropped == 0)
        for (name, table) in report.tables where name != "certificates" {
            #expect(table.lost.isEmpty && table.rowsDropped == 0, "\(name): \(table)")
        }
        #expect(report.tables["chunks"]?.rowsKept == chunks.count)
        #expect(report.tables["signed"]?.rowsKept == chunks.count)
        #expect(report.unprotectedFromSlot == nil)
        #expect(report.check.isClean, "\(report.check.problems)")

        let salvaged = try ChunkStore(adopting: bed.path("d"), readOnly: true)
        defer { salvaged.close() }
        let rules = MaintenanceTestbed.rules
        for chunk in chunks { #expect(try salvaged.chunk(ChunkReference(chunk: chunk, rules: rules)) != nil) }
        let kept = certified.filter {
            (try? salvaged.certificate(for: ChunkReference(chunk: $0, rules: rules))) ?? nil != nil
        }
        #expect(kept.count == certificates.rowsKept)
        #expect(try salvaged.acceptedTip()?.height == 1)
    }

    @Test func rowsBetweenTwoZeroedPagesAreReadByProbing() async throws {
        let (bed, chunks) = try await Self.compactedStore()
        defer { bed.removeAll() }
        let certified = chunks.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
        let first = try Self.zeroLeafPage(
            holding: Self.chunkKey(certified[8]), valueSize: Self.certificateRowSize(certified[8]), in: bed.path("c"))
        let second = try Self.zeroLeafPage(
            holding: Self.chunkKey(certified[40]), valueSize: Self.certificateRowSize(certified[40]), in: bed.path("c"))
        #expect(first.page != second.page)
        let report = try await ChunkStore.salvage(from: bed.path("c"), into: bed.path("d"), isolation: Self.isolation())
        let certificates = try #require(report.tables["certificates"])
        #expect(certificates.lost.count == 2, "\(certificates.lost)")
        let salvaged = try ChunkStore(adopting: bed.path("d"), readOnly: true)
        defer { salvaged.close() }
        // The rows between the two pages are read from the middle.
        let middle = certified[24]
        #expect(try salvaged.certificate(for: ChunkReference(chunk: middle, rules: MaintenanceTestbed.rules)) != nil)
        let middleKey = Self.chunkKey(middle)
        for lost in certificates.lost {
            let after = lost.after.flatMap { Hex.decode($0) } ?? []
            let before = try #require(lost.before.flatMap { Hex.decode($0) })
            #expect(!(after.lexicographicallyPrecedes(middleKey) && middleKey.lexicographicallyPrecedes(before)))
        }
        #expect(certificates.rowsKept == certified.count - first.rows - second.rows)
        #expect(report.check.isClean, "\(report.check.problems)")
    }

    /// The table's last leaf page and the one before the page before it are
    /// zeroed: reading from the end fails at once, so there is no readable
    /// key above the damage; the rows on the page between are still read,
    /// and exactly the rows on the zeroed pages are lost.
    @Test func rowsBetweenADamagedPageAndADamagedLastPageAreRead() async throws {
        let (bed, chunks) = try await Self.compactedStore()
        defer { bed.removeAll() }
        // In key order, as the table holds them.
        let certified = chunks.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
            .sorted { Self.chunkKey($0).lexicographicallyPrecedes(Self.chunkKey($1)) }
        let data = try Self.dataFile(bed.path("c"))
        let pages = try certified.map {
            try Self.leafPage(holding: Self.chunkKey($0), valueSize: Self.certificateRowSize($0), data: data).page
        }
        var leaves: [Int] = []
        for page in pages where leaves.last != page { leaves.append(page) }
        try #require(Set(leaves).count == leaves.count && leaves.count >= 4, "certificate leaves \(leaves)")
        let zeroed: Set = [leaves[leaves.count - 1], leaves[leaves.count - 3]]
        for page in zeroed { try Self.zeroPage(page, in: bed.path("c")) }

        let report = try await ChunkStore.salvage(from: bed.path("c"), into: bed.path("d"), isolation: Self.isolation())
        let certificates = try #require(report.tables["certificates"])
        let expected = zip(certified, pages).filter { !zeroed.contains($0.1) }.map(\.0)
        #expect(certificates.rowsKept == expected.count, "\(certificates)")
        #expect(certificates.lost.count == 2 && certificates.lost.last?.before == nil, "\(certificates.lost)")
        #expect(certificates.rowsLost == certified.count - expected.count)
        let salvaged = try ChunkStore(adopting: bed.path("d"), readOnly: true)
        defer { salvaged.close() }
        let rules = MaintenanceTestbed.rules
        let kept = try certified.filter {
            try salvaged.certificate(for: ChunkReference(chunk: $0, rules: rules)) != nil
        }
        #expect(kept.map(\.id) == expected.map(\.id))
        #expect(report.check.isClean, "\(report.check.problems)")
    }

    @Test func lostSignedRowsRaiseTheFloorPastTheirSlotsAndLeaveTheWatermark() async throws {
        let (bed, chunks) = try await Self.compactedStore()
        defer { bed.removeAll() }
        let source = try bed.open("a")
        let sourceWatermark = try source.watermark()
        source.close()
        // `fill` signs producers 1...3 per slot: chunk 60 is slot 21, producer 1.
        let target = chunks[60]
        try Self.zeroLeafPage(
            holding: TableCheckTests.bigEndian(target.slot) + target.producer.bytes, valueSize: 42, in: bed.path("c"))

        let report = try await ChunkStore.salvage(from: bed.path("c"), into: bed.path("d"), isolation: Self.isolation())
        let signed = try #require(report.tables["signed"])
        let lost = try #require(signed.lost.first, "\(report)")
        let before = try #require(lost.before.flatMap { Hex.decode($0) })
        let lastLostSlot = before.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        #expect(lastLostSlot > target.slot)
        #expect(report.signingFloor == lastLostSlot + 1)
        #expect(report.watermark == sourceWatermark)
        #expect(report.check.isClean, "\(report.check.problems)")

        let salvaged = try bed.open("d")
        defer { salvaged.close() }
        #expect(try salvaged.watermark() == sourceWatermark)
        let rival = MaintenanceTestbed.chunk(producer: 1, slot: target.slot, payload: 0xEE)
        await #expect {
            _ = try await salvaged.persistAndSign(
                rival, validators: MaintenanceTestbed.validators,
                now: .milliseconds(MaintenanceTestbed.rules.expiry(ofSlot: target.slot) - 10_000))
        } throws: { error in
            ChunkStoreError.Code.expired ~= error && "\(error)".contains("below the signing floor \(lastLostSlot + 1)")
        }
    }

    /// `recover -o` reads through children of its own, so the tool's
    /// watchdog (which stops a command that reads nothing for a while) does
    /// not watch it: a salvage waiting on its readers is not hung.
    @Test func recoverIntoADirectoryIsNotStoppedByTheWatchdogWhileItsReadersWork() async throws {
        let (bed, chunks) = try await Self.compactedStore()
        defer { bed.removeAll() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try builtExecutable("dsmr-store"))
        process.arguments = ["recover", "-s", bed.path("c"), "-o", bed.path("d")]
        process.environment = ProcessInfo.processInfo.environment.merging(["DSMR_STORE_WATCHDOG_SECONDS": "0.1"]) {
            $1
        }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text)")
        #expect(text.contains("chunks: read \(chunks.count), kept \(chunks.count)"), "\(text)")
    }

    @Test func signedRowsLostToTheTableEndAreReportedAsUnprotectedSlots() async throws {
        let (bed, chunks) = try await Self.compactedStore()
        defer { bed.removeAll() }
        let last = try #require(chunks.last)
        let zeroed = try Self.zeroLeafPage(
            holding: TableCheckTests.bigEndian(last.slot) + last.producer.bytes, valueSize: 42, in: bed.path("c"))
        let report = try await ChunkStore.salvage(from: bed.path("c"), into: bed.path("d"), isolation: Self.isolation())
        let signed = try #require(report.tables["signed"])
        #expect(signed.lost.count == 1 && signed.lost.first?.before == nil, "\(signed.lost)")
        #expect(signed.rowsKept == chunks.count - zeroed.rows)
        let after = try #require(signed.lost.first?.after.flatMap { Hex.decode($0) })
        let lastReadSlot = after.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        #expect(report.signingFloor == lastReadSlot + 1)
        #expect(report.unprotectedFromSlot == lastReadSlot + 1)
        let run = try StoreToolTests.run(["recover", "-s", bed.path("c"), "-o", bed.path("e")])
        #expect(run.status == 2)
        #expect(run.output.contains("are not protected"), "\(run.output)")
    }

    @Test func rowsThatDoNotDecodeAreDroppedAndTheirSlotsStayProtected() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        let chunks = try await MaintenanceTestbed.fill(store)
        store.close()
        let flipped = chunks[7]
        try TableCheckTests.rewrite(bed, "chunks", Self.chunkKey(flipped)) { value in
            var damaged = value
            damaged[damaged.count - 70] ^= 0x01
            return damaged
        }
        var heard: [StoreProgress] = []
        let report = try await ChunkStore.salvage(from: bed.path("a"), into: bed.path("d")) { heard.append($0) }
        #expect(
            heard.last { $0.stage == "salvaging chunks" }
                == StoreProgress(
                    stage: "salvaging chunks", done: chunks.count, total: chunks.count))
        #expect(report.tables["chunks"]?.rowsStored == chunks.count)
        #expect(report.tables["chunks"]?.rowsDropped == 1)
        #expect(report.tables["chunks"]?.rowsKept == chunks.count - 1)
        #expect(report.recovery.signedRowsMarkedNotHeld == 1)
        #expect(!report.isComplete)
        #expect(report.check.isClean, "\(report.check.problems)")
        let salvaged = try bed.open("d")
        defer { salvaged.close() }
        let rival = MaintenanceTestbed.chunk(producer: 2, slot: flipped.slot, payload: 0xAB)
        await #expect {
            _ = try await salvaged.persistAndSign(
                rival, validators: MaintenanceTestbed.validators, now: .milliseconds(3_000))
        } throws: { error in
            ChunkStoreError.Code.conflictingChunk ~= error
        }
    }

    @Test func salvageWithoutAReadableIdentityNamesTheMissingRow() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        try bed.open("a").close()
        try TableCheckTests.rewrite(bed, "meta", Array("rules".utf8)) { _ in nil }
        await #expect {
            _ = try await ChunkStore.salvage(from: bed.path("a"), into: bed.path("d"), isolation: Self.isolation())
        } throws: { error in
            ChunkStoreError.Code.wrongStore ~= error && "\(error)".contains("no readable rules row")
        }
    }

    @Test func evidenceThatNoLongerProvesItsConflictIsDropped() async throws {
        let (bed, key) = try await TableCheckTests.storeWithEvidence()
        defer { bed.removeAll() }
        try TableCheckTests.rewrite(bed, "evidence", key) { value in
            var flipped = value
            flipped[flipped.count - 10] ^= 0x40  // inside the conflicting chunk's signature
            return flipped
        }
        let report = try await ChunkStore.salvage(from: bed.path("a"), into: bed.path("d"))
        #expect(report.tables["evidence"]?.rowsRead == 1 && report.tables["evidence"]?.rowsDropped == 1)
        #expect(report.check.isClean, "\(report.check.problems)")
    }

    @Test func aReaderThatHangsIsStoppedAndItsPassEnds() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        try bed.open("a").close()
        let start = ContinuousClock.now
        // A reader that never writes a row: `meta` stays unread, so there is
        // no identity, and the error says why.
        await #expect {
            _ = try await ChunkStore.salvage(
                from: bed.path("a"), into: bed.path("d"),
                isolation: .childProcess(
                    executable: "/bin/sh", arguments: ["-c", "exec sleep 4", "sh"], watchdogSeconds: 0.2))
        } throws: { error in
            "\(error)".contains("made no progress for 0.2 s")
        }
        // Every pass (from both ends, then the probes) was stopped early:
        // about 4 s alone, 72 s with no watchdog (18 passes of 4 s); the
        // bound leaves room for a machine busy with the whole suite.
        #expect(ContinuousClock.now - start < .seconds(60))
    }

    @Test func salvageRefusesASourceAWriterHolds() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let live = try bed.open("a")
        defer { live.close() }
        await #expect {
            _ = try await ChunkStore.salvage(from: bed.path("a"), into: bed.path("d"))
        } throws: { error in
            ChunkStoreError.Code.locked ~= error
        }
        #expect(!FileManager.default.fileExists(atPath: bed.path("d")))
    }

    @Test func salvageRefusesADestinationThatHoldsAStore() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        try bed.open("a").close()
        try bed.open("d").close()
        await #expect {
            _ = try await ChunkStore.salvage(from: bed.path("a"), into: bed.path("d"))
        } throws: { error in
            ChunkStoreError.Code.alreadyExists ~= error
        }
    }

    @Test func recoverIntoADirectorySalvagesAndExitsTwoWhenRowsWereLost() async throws {
        let (bed, chunks) = try await Self.compactedStore()
        defer { bed.removeAll() }
        let certified = chunks.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
        try Self.zeroLeafPage(
            holding: Self.chunkKey(certified[30]), valueSize: Self.certificateRowSize(certified[30]), in: bed.path("c"))
        let run = try StoreToolTests.run(["recover", "-s", bed.path("c"), "-o", bed.path("d")])
        #expect(run.status == 2, "\(run.output) \(run.error)")
        #expect(run.output.contains("certificates: read"), "\(run.output)")
        #expect(run.output.contains("lost keys after"), "\(run.output)")
        #expect(run.output.contains("of the 60 rows stored"), "\(run.output)")
        #expect(run.output.contains("chunks: read \(chunks.count), kept \(chunks.count), dropped 0"), "\(run.output)")
        let clean = try StoreToolTests.run(["recover", "-s", bed.path("d"), "-o", bed.path("e")])
        #expect(clean.status == 0, "\(clean.output) \(clean.error)")
        #expect(clean.output.contains("OK: every row salvaged"), "\(clean.output)")
    }
}
