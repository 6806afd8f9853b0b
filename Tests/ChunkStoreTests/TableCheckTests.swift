import ChunkStore
import StoreMaintenance
import DSMR
import Foundation
import LMDB
import Testing

/// `check()` on the tables beyond chunks and indexes: evidence, blocks,
/// meta and certificates, each damaged straight in LMDB.
@Suite struct TableCheckTests {
    static func bigEndian(_ value: UInt64) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }

    /// A filled store in which producer 1 signed two chunks for slot 2: one
    /// evidence row. Returns the bed and the row's key.
    static func storeWithEvidence() async throws -> (MaintenanceTestbed, [UInt8]) {
        let bed = MaintenanceTestbed()
        let store = try bed.open("a")
        try await MaintenanceTestbed.fill(store)
        let rival = MaintenanceTestbed.chunk(producer: 1, slot: 2, payload: 0xAB)
        await #expect(throws: ChunkStoreError.self) {
            _ = try await store.persistAndSign(
                rival, validators: MaintenanceTestbed.validators, now: .milliseconds(2_000))
        }
        #expect(try store.evidence().count == 1)
        #expect(try store.evidence().first?.provesItself(domain: MaintenanceTestbed.domain) == true)
        #expect(try store.check().isClean)
        store.close()
        return (bed, bigEndian(2) + MaintenanceTestbed.signers[1].nodeID.bytes)
    }

    /// Replaces the value under `key` in `table` with `change(value)`.
    static func rewrite(
        _ bed: MaintenanceTestbed, _ table: String, _ key: [UInt8], _ change: ([UInt8]) -> [UInt8]?
    ) throws {
        try bed.withRawEnvironment("a") { env in
            let database = try env.database(table)
            try env.write { txn in
                let value = try #require(try txn.get(key, in: database))
                if let changed = change(value) {
                    try txn.put(changed, forKey: key, in: database)
                } else {
                    try txn.delete(key, in: database)
                }
            }
        }
    }

    static func check(_ bed: MaintenanceTestbed) throws -> CheckReport {
        let store = try ChunkStore(adopting: bed.path("a"), readOnly: true)
        defer { store.close() }
        return try store.check()
    }

    @Test func aByteFlippedAnywhereInAnEvidenceRowIsFound() async throws {
        let (bed, key) = try await Self.storeWithEvidence()
        defer { bed.removeAll() }
        var original: [UInt8] = []
        try Self.rewrite(bed, "evidence", key) { value in
            original = value
            return value
        }
        var missed: [Int] = []
        for offset in stride(from: 0, to: original.count, by: 3) {
            try Self.rewrite(bed, "evidence", key) { value in
                var flipped = value
                flipped[offset] ^= 0x10
                return flipped
            }
            let report = try Self.check(bed)
            let found = report.problems.contains {
                $0.kind == .evidenceCorrupt && $0.table == "evidence" && $0.key == Hex.encode(key) && !$0.isRepairable
            }
            if !found || report.problemCount != 1 { missed.append(offset) }
            try Self.rewrite(bed, "evidence", key) { _ in original }
        }
        #expect(missed.isEmpty, "flips not found at offsets \(missed) of \(original.count)")
        #expect(try Self.check(bed).isClean)
    }

    @Test func evidenceOfAnotherProducerOrSlotThanItsKeyIsFound() async throws {
        let (bed, key) = try await Self.storeWithEvidence()
        defer { bed.removeAll() }
        // The same row filed under producer 2's key: decodes, proves nothing there.
        let moved = Self.bigEndian(2) + MaintenanceTestbed.signers[2].nodeID.bytes
        try bed.withRawEnvironment("a") { env in
            let evidence = try env.database("evidence")
            try env.write { txn in
                let row = try #require(try txn.get(key, in: evidence))
                try txn.put(row, forKey: moved, in: evidence)
            }
        }
        let report = try Self.check(bed)
        #expect(report.problems.map(\.key) == [Hex.encode(moved)], "\(report.problems)")
        #expect(report.problems.first?.detail.contains("not producer") == true)
    }

    @Test func evidenceWrittenBeforeKeysWereRecordedStillChecksClean() async throws {
        let (bed, key) = try await Self.storeWithEvidence()
        defer { bed.removeAll() }
        // Version 1: no key field (version byte, id, then the two chunks).
        try Self.rewrite(bed, "evidence", key) { value in
            let keyLength = Int(value[33]) << 24 | Int(value[34]) << 16 | Int(value[35]) << 8 | Int(value[36])
            return [1] + value[1..<33] + value[(37 + keyLength)...]
        }
        let store = try ChunkStore(adopting: bed.path("a"), readOnly: true)
        defer { store.close() }
        #expect(try store.check().isClean)
        let evidence = try #require(try store.evidence().first)
        #expect(evidence.producerKey == nil)
        #expect(evidence.proves(publicKey: MaintenanceTestbed.signers[1].publicKey, domain: MaintenanceTestbed.domain))
    }

    @Test func aSchemaVersion1StoreOpensAndAWritableOpenMarksItVersion2() async throws {
        let (bed, _) = try await Self.storeWithEvidence()
        defer { bed.removeAll() }
        try Self.rewrite(bed, "meta", Array("version".utf8)) { _ in [0, 0, 0, 1] }
        let readOnly = try ChunkStore(adopting: bed.path("a"), readOnly: true)
        #expect(try readOnly.check().isClean)
        readOnly.close()
        try bed.open("a").close()
        try Self.rewrite(bed, "meta", Array("version".utf8)) { value in
            #expect(value == [0, 0, 0, 2])
            return value
        }
    }

    /// A store with blocks 1...3 accepted at 1.5 s, 2.5 s and 3.5 s.
    static func storeWithBlocks() async throws -> (MaintenanceTestbed, [Block]) {
        let bed = MaintenanceTestbed()
        let store = try bed.open("a")
        let chunks = try await MaintenanceTestbed.fill(store)
        var blocks = [try #require(try store.block(at: 1))]
        for height in UInt64(2)...3 {
            let block = Block(
                parent: blocks.last!.id, height: height, timestamp: Int64(height) * 1_000 + 500,
                certificates: [MaintenanceTestbed.certificate(for: chunks[Int(height) * 2])])
            try await store.recordAccepted(block)
            blocks.append(block)
        }
        try await store.markExecuted(height: 2)
        #expect(try store.check().isClean)
        store.close()
        return (bed, blocks)
    }

    @Test func aMissingBlockIsFoundAsAGap() async throws {
        let (bed, _) = try await Self.storeWithBlocks()
        defer { bed.removeAll() }
        try Self.rewrite(bed, "blocks", Self.bigEndian(2)) { _ in nil }
        let report = try Self.check(bed)
        #expect(report.problems.count == 1, "\(report.problems)")
        #expect(report.problems.first?.kind == .blockCorrupt)
        #expect(report.problems.first?.key == Hex.encode(Self.bigEndian(3)))
        #expect(report.problems.first?.detail.contains("heights 2 to 2 are missing") == true)
    }

    @Test func aBlockWhoseParentIsNotTheBlockBelowIsFound() async throws {
        let (bed, blocks) = try await Self.storeWithBlocks()
        defer { bed.removeAll() }
        let stranger = Block(
            parent: blocks[0].id, height: 2, timestamp: blocks[1].timestamp + 1, certificates: blocks[1].certificates)
        let relinked = Block(
            parent: stranger.id, height: 3, timestamp: blocks[2].timestamp, certificates: blocks[2].certificates)
        try Self.rewrite(bed, "blocks", Self.bigEndian(3)) { _ in relinked.encoded() }
        let report = try Self.check(bed)
        let kinds = report.problems.map { "\($0.kind) \($0.table) \($0.key)" }
        #expect(kinds.contains("blockCorrupt blocks \(Hex.encode(Self.bigEndian(3)))"), "\(report.problems)")
        // Block 3 is no longer the tip the meta row names.
        #expect(kinds.contains("metaInvalid meta \(Hex.encode(Array("accepted_tip".utf8)))"), "\(report.problems)")
    }

    @Test func tipsAndWatermarkThatDisagreeWithTheBlocksAreFound() async throws {
        let (bed, blocks) = try await Self.storeWithBlocks()
        defer { bed.removeAll() }
        // The accepted tip names block 2; the executed tip is past it; the
        // watermark is below block 3's timestamp.
        try Self.rewrite(bed, "meta", Array("accepted_tip".utf8)) { _ in Self.bigEndian(3) + blocks[1].id.bytes }
        try Self.rewrite(bed, "meta", Array("executed_tip".utf8)) { _ in Self.bigEndian(4) }
        try Self.rewrite(bed, "meta", Array("watermark".utf8)) { _ in Self.bigEndian(3_000) }
        let report = try Self.check(bed)
        let found = Set(report.problems.map { "\($0.kind) \(Self.name($0.key))" })
        #expect(
            found == ["metaInvalid accepted_tip", "metaInvalid executed_tip", "metaInvalid watermark"],
            "\(report.problems)")
        #expect(report.problems.allSatisfy { !$0.isRepairable })
    }

    @Test func unknownAndMalformedMetaRowsAreFound() async throws {
        let (bed, _) = try await Self.storeWithBlocks()
        defer { bed.removeAll() }
        try bed.withRawEnvironment("a") { env in
            let meta = try env.database("meta")
            try env.write { txn in
                try txn.put([1], forKey: Array("stray".utf8), in: meta)
                try txn.put([0, 0, 0], forKey: Array("executed_tip".utf8), in: meta)
                try txn.put(Self.bigEndian(UInt64(bitPattern: -5)), forKey: Array("watermark".utf8), in: meta)
            }
        }
        let report = try Self.check(bed)
        let found = Set(report.problems.map { Self.name($0.key) })
        #expect(found.isSuperset(of: ["stray", "executed_tip", "watermark"]), "\(report.problems)")
        #expect(report.problems.allSatisfy { $0.kind == .metaInvalid })
    }

    @Test func aRaisedWatermarkIsFoundByThePendingRowsItShouldHaveCollected() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        let chunks = try await MaintenanceTestbed.fill(store, slots: 1...2)
        store.close()
        // Slot 1 expires at 11 s: a watermark of 11 s collects its chunks.
        try Self.rewrite(bed, "meta", Array("watermark".utf8)) { _ in Self.bigEndian(11_000) }
        let report = try Self.check(bed)
        let expired = report.problems.filter { $0.kind == .expiredRowKept }
        // Slot 1's pending chunks (chunk 0 is accepted) and their pending certificate.
        #expect(Set(expired.map(\.table)) == ["chunks", "certificates"], "\(report.problems)")
        #expect(expired.filter { $0.table == "chunks" }.count == 2)
        #expect(expired.count == report.problemCount)
        _ = chunks
    }

    @Test func certificatesWithABadStatusOrAnotherProducerAreFoundAndRecoverDropsThem() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        let chunks = try await MaintenanceTestbed.fill(store)
        store.close()
        let badStatusKey = Self.chunkKey(chunks[2])
        try Self.rewrite(bed, "certificates", badStatusKey) { [7] + $0.dropFirst() }
        // A certificate under chunk 3's key and id that names producer 3 at
        // slot 9 (signed by a quorum, so it decodes): not chunk 3's.
        let held = chunks[3]
        let reference = ChunkReference(
            chunkID: held.id, producer: MaintenanceTestbed.signers[3].nodeID, slot: 9,
            expiry: MaintenanceTestbed.rules.expiry(ofSlot: held.slot))
        let shares = MaintenanceTestbed.signers.prefix(3).map {
            try! SignatureShare.sign(
                reference, rules: MaintenanceTestbed.rules, signer: $0, domain: MaintenanceTestbed.domain)
        }
        let stranger = try ChunkCertificate.aggregate(
            reference: reference, shares: shares, validators: MaintenanceTestbed.validators,
            rules: MaintenanceTestbed.rules)
        try bed.withRawEnvironment("a") { env in
            let certificates = try env.database("certificates")
            try env.write { txn in
                try txn.put([0] + stranger.encoded(), forKey: Self.chunkKey(held), in: certificates)
            }
        }
        let report = try Self.check(bed)
        #expect(
            Set(report.problems.map { "\($0.kind) \($0.key)" })
                == [
                    "certificateCorrupt \(Hex.encode(badStatusKey))",
                    "certificateCorrupt \(Hex.encode(Self.chunkKey(held)))",
                ],
            "\(report.problems)")
        #expect(report.problems.allSatisfy { $0.isRepairable })
        let writable = try bed.open("a")
        defer { writable.close() }
        #expect(try await writable.recover().certificatesDropped == 2)
        #expect(try writable.check().isClean)
    }

    @Test func eachProblemSaysWhetherRecoverRepairsItInTextAndJSON() throws {
        let problem = StoreProblem(kind: .evidenceCorrupt, table: "evidence", key: "00", detail: "x")
        #expect(problem.description.hasSuffix("(recover cannot repair this)"))
        let json = String(decoding: try JSONEncoder().encode(problem), as: UTF8.self)
        #expect(json.contains("\"repairable\":false"))
        let decoded = try JSONDecoder().decode(StoreProblem.self, from: Data(json.utf8))
        #expect(decoded == problem)
    }

    /// A `meta` key, given in hex, as its name.
    static func name(_ key: String) -> String { String(decoding: Hex.decode(key) ?? [], as: UTF8.self) }

    static func chunkKey(_ chunk: Chunk) -> [UInt8] {
        bigEndian(UInt64(MaintenanceTestbed.rules.expiry(ofSlot: chunk.slot))) + chunk.id.bytes
    }
}
