import ChunkStore
import StoreMaintenance
import DSMR
import Foundation
import Testing

@Suite struct InterchangeTests {
    @Test func anEmptyStoreThatImportsAHistoryRefusesToSignWhatTheOriginalSigned() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let original = try bed.open("a")
        let chunks = try await MaintenanceTestbed.fill(original)
        let history = try original.exportSigningHistory()
        original.close()
        #expect(history.data.count == 3)
        #expect(history.data.map(\.signedChunks.count).reduce(0, +) == chunks.count)

        let fresh = try bed.open("b")
        let result = try await fresh.importSigningHistory(try SigningHistory(json: history.json()))
        #expect(result.added == chunks.count)
        #expect(result.watermark == 1_500)
        for chunk in chunks.prefix(6) {
            let rival = try Chunk.sign(
                producer: MaintenanceTestbed.signers[1...3].first { $0.nodeID == chunk.producer }!,
                beneficiary: chunk.producer, slot: chunk.slot, transactions: [[0xCC]], domain: MaintenanceTestbed.domain
            )
            await #expect {
                _ = try await fresh.persistAndSign(
                    rival, validators: MaintenanceTestbed.validators, now: .milliseconds(2_000))
            } throws: { ChunkStoreError.Code.conflictingChunk ~= $0 }
        }
        // The very chunk that was signed may be signed again, and is then held.
        _ = try await fresh.persistAndSign(
            chunks[0], validators: MaintenanceTestbed.validators, now: .milliseconds(2_000))
        #expect(try fresh.chunk(chunks[0].id) != nil)
        let report = try fresh.check()
        #expect(report.isClean, "\(report.problems)")
        fresh.close()
    }

    @Test func importingAnOlderHistoryNeverLowersTheWatermark() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        try await MaintenanceTestbed.fill(store)
        var older = try store.exportSigningHistory()
        try await store.collectGarbage(upTo: .milliseconds(9_000))
        older.metadata.lowWatermark = 100
        let result = try await store.importSigningHistory(older)
        #expect(result.watermark == 9_000)
        #expect(try store.watermark() == 9_000)
        store.close()
    }

    @Test func importingAHigherWatermarkCollectsWhatItExpires() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        let chunks = try await MaintenanceTestbed.fill(store)
        var newer = try store.exportSigningHistory()
        // Slot 1's chunks expire at 11 s: a watermark of 11 s collects them.
        newer.metadata.lowWatermark = 11_000
        _ = try await store.importSigningHistory(newer)
        let report = try store.check()
        #expect(report.isClean, "\(report.problems)")
        let pending = try store.chunks(status: .pending).map(\.id)
        #expect(!pending.contains(chunks[1].id) && pending.contains(chunks[3].id))
        store.close()
    }

    @Test func aDumpOfSchemaVersion1LoadsAndAnUnknownVersionIsRefused() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        try await MaintenanceTestbed.fill(store)
        try store.dump(to: bed.path("a.dump"))
        store.close()
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: bed.path("a.dump"))))
        // The schema version is the header's last 4 bytes (after magic and
        // format); the trailing SHA-256 covers everything before it.
        func withSchema(_ version: UInt8) -> Data {
            var bytes = Array(original.dropLast(32))
            bytes[12..<16] = [0, 0, 0, version]
            return Data(bytes + ChunkID(hashing: bytes).bytes)
        }
        try withSchema(1).write(to: URL(fileURLWithPath: bed.path("v1.dump")))
        try ChunkStore.load(dump: bed.path("v1.dump"), into: bed.path("b"))
        let loaded = try ChunkStore(adopting: bed.path("b"), readOnly: true)
        #expect(try loaded.check().isClean)
        loaded.close()
        try withSchema(3).write(to: URL(fileURLWithPath: bed.path("v3.dump")))
        #expect { try ChunkStore.load(dump: bed.path("v3.dump"), into: bed.path("c")) } throws: { error in
            ChunkStoreError.Code.badInterchange ~= error
        }
    }

    @Test func aHistoryOfAnotherNodeOrMalformedJSONIsRefused() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        try await MaintenanceTestbed.fill(store)
        let history = try store.exportSigningHistory()
        store.close()

        let other = try bed.open("b", node: 1)
        await #expect { _ = try await other.importSigningHistory(history) } throws: {
            ChunkStoreError.Code.badInterchange ~= $0
        }
        other.close()

        var text = String(decoding: history.json(), as: UTF8.self)
        #expect(throws: ChunkStoreError.self) { try SigningHistory(json: Array(text.prefix(40).utf8)) }
        text = text.replacingOccurrences(of: "\"slot\" : \"1\"", with: "\"slot\" : \"-1\"")
        #expect { try SigningHistory(json: Array(text.utf8)) } throws: { ChunkStoreError.Code.badInterchange ~= $0 }
    }

    @Test func dumpThenLoadGivesAnEqualStore() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        let chunks = try await MaintenanceTestbed.fill(store)
        let summary = try store.dump(to: bed.path("store.dump"))
        let history = try store.exportSigningHistory()
        let tip = try store.acceptedTip()
        store.close()
        #expect(summary.rows["chunks"] == chunks.count)

        let loaded = try ChunkStore.load(dump: bed.path("store.dump"), into: bed.path("b"))
        #expect(loaded.rows == summary.rows)
        let copy = try bed.open("b")
        #expect(try copy.check().isClean)
        #expect(try copy.exportSigningHistory() == history)
        #expect(try copy.acceptedTip() == tip)
        for chunk in chunks { #expect(try copy.chunkBytes(chunk.id) == chunk.encoded()) }
        copy.close()
    }

    @Test func loadIntoADirectoryHoldingAStoreIsRefusedAsAlreadyExists() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        try await MaintenanceTestbed.fill(store)
        try store.dump(to: bed.path("store.dump"))
        store.close()
        #expect { try ChunkStore.load(dump: bed.path("store.dump"), into: bed.path("a")) } throws: { error in
            ChunkStoreError.Code.alreadyExists ~= error && "\(error)".contains("already holds a store")
        }
    }

    @Test func aDamagedOrTruncatedDumpIsRefusedAndLeavesNoStore() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        try await MaintenanceTestbed.fill(store)
        try store.dump(to: bed.path("store.dump"))
        store.close()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: bed.path("store.dump")))

        var flipped = bytes
        flipped[flipped.count / 2] ^= 0x40
        try flipped.write(to: URL(fileURLWithPath: bed.path("flipped.dump")))
        #expect { try ChunkStore.load(dump: bed.path("flipped.dump"), into: bed.path("b")) } throws: {
            ChunkStoreError.Code.badInterchange ~= $0
        }
        #expect(!FileManager.default.fileExists(atPath: bed.path("b/data.mdb")))

        for cut in [0, 10, 17, bytes.count / 3, bytes.count - 1] {
            try bytes.prefix(cut).write(to: URL(fileURLWithPath: bed.path("cut.dump")))
            #expect { try ChunkStore.load(dump: bed.path("cut.dump"), into: bed.path("c")) } throws: {
                ChunkStoreError.Code.badInterchange ~= $0
            }
        }
        #expect(!FileManager.default.fileExists(atPath: bed.path("c/data.mdb")))
    }
}

@Suite struct RulesChangeTests {
    @Test func aChangeOfTheRulesThatTieKeysToTimeIsRefusedUnlessAccepted() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        try await MaintenanceTestbed.fill(store)
        store.close()

        var wider = bed.configuration("a")
        wider.rules.rateLimitWindow = 8
        #expect { _ = try ChunkStore(wider) } throws: { error in
            ChunkStoreError.Code.wrongStore ~= error && "\(error)".contains("rateLimitWindow 4 (now 8)")
        }

        // Limits may change freely, and the store adopts them.
        var looser = bed.configuration("a")
        looser.rules.maxUnitsPerWindow.bandwidth *= 2
        try ChunkStore(looser).close()
        #expect(try StoreIdentity.read(at: bed.path("a")).rules == looser.rules)

        wider.acceptTimingChange = true
        try ChunkStore(wider).close()
        #expect(try StoreIdentity.read(at: bed.path("a")).rules.rateLimitWindow == 8)
    }
}
