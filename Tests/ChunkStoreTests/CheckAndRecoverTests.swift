import ChunkStore
import StoreMaintenance
import DSMR
import LMDB
import Testing

@Suite struct CheckAndRecoverTests {
    @Test func aFreshlyFilledStoreChecksClean() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        try await MaintenanceTestbed.fill(store)
        let report = try store.check()
        #expect(report.isClean, "\(report.problems)")
        #expect(report.rowsChecked["chunks"] == 18)
        store.close()
    }

    @Test func checkAndDumpReportProgressTableByTable() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        let chunks = try await MaintenanceTestbed.fill(store)
        var checked: [StoreProgress] = []
        _ = try store.check { checked.append($0) }
        let chunkStage = checked.filter { $0.stage == "checking chunks" }
        #expect(chunkStage.first?.done == 0)
        #expect(chunkStage.last == StoreProgress(stage: "checking chunks", done: chunks.count, total: chunks.count))
        #expect(Set(checked.map(\.stage)).count == 9)

        var dumped: [StoreProgress] = []
        try store.dump(to: bed.path("a.dump")) { dumped.append($0) }
        #expect(dumped.contains(StoreProgress(stage: "dumping chunks", done: chunks.count, total: chunks.count)))
        var loaded: [StoreProgress] = []
        try ChunkStore.load(dump: bed.path("a.dump"), into: bed.path("b")) { loaded.append($0) }
        #expect(loaded.last.map { $0.done == $0.total && $0.total > 0 } == true)
        store.close()
    }

    @Test func checkFindsEachKindOfDamageAndRecoverRepairsTheDerivedRows() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        let chunks = try await MaintenanceTestbed.fill(store)
        store.close()

        let unindexed = chunks[4]
        let flipped = chunks[7]
        let ledgerProducer = chunks[10].producer
        try bed.withRawEnvironment("a") { env in
            let bySlot = try env.database("by_slot_producer")
            let records = try env.database("chunks")
            let ledger = try env.database("ledger")
            let certificates = try env.database("certificates")
            try env.write { txn in
                // A missing index row.
                var key: [UInt8] = []
                withUnsafeBytes(of: unindexed.slot.bigEndian) { key.append(contentsOf: $0) }
                key += unindexed.producer.bytes + unindexed.id.bytes
                #expect(try txn.delete(key, in: bySlot))
                // A flipped byte in a chunk's body.
                var recordKey: [UInt8] = []
                let expiry = MaintenanceTestbed.rules.expiry(ofSlot: flipped.slot)
                withUnsafeBytes(of: UInt64(expiry).bigEndian) { recordKey.append(contentsOf: $0) }
                recordKey += flipped.id.bytes
                var record = try #require(try txn.get(recordKey, in: records))
                record[record.count - 70] ^= 0x01
                try txn.put(record, forKey: recordKey, in: records)
                // A changed ledger row.
                var ledgerKey: [UInt8] = []
                withUnsafeBytes(of: UInt64(1).bigEndian) { ledgerKey.append(contentsOf: $0) }
                ledgerKey += ledgerProducer.bytes
                var usage = try #require(try txn.get(ledgerKey, in: ledger))
                usage[7] &+= 1
                try txn.put(usage, forKey: ledgerKey, in: ledger)
                // A certificate filed under a chunk it does not name.
                let other = MaintenanceTestbed.certificate(for: chunks[2])
                var certificateKey: [UInt8] = []
                withUnsafeBytes(of: UInt64(other.reference.expiry).bigEndian) { certificateKey.append(contentsOf: $0) }
                certificateKey += [UInt8](repeating: 0xEE, count: 32)
                try txn.put([0] + other.encoded(), forKey: certificateKey, in: certificates)
            }
        }

        let damaged = try bed.open("a")
        let report = try damaged.check()
        let kinds = Set(report.problems.map(\.kind))
        #expect(kinds.contains(.missingIndexRow))
        #expect(kinds.contains(.chunkHashMismatch))
        #expect(kinds.contains(.ledgerMismatch))
        #expect(kinds.contains(.certificateCorrupt))
        #expect(!report.isClean)

        let recovery = try await damaged.recover()
        #expect(recovery.chunksDropped == 1)
        #expect(recovery.certificatesDropped == 1)
        #expect(recovery.signedRowsMarkedNotHeld == 1)
        let after = try damaged.check()
        #expect(after.isClean, "\(after.problems)")
        // The lost chunk's slot stays protected: another chunk for it conflicts.
        // `fill` signs producers 1...3 per slot, so chunk 7 is slot 3 of producer 2.
        #expect(flipped.producer == MaintenanceTestbed.signers[2].nodeID && flipped.slot == 3)
        let rival = MaintenanceTestbed.chunk(producer: 2, slot: 3, payload: 0xAB)
        await #expect {
            _ = try await damaged.persistAndSign(
                rival, validators: MaintenanceTestbed.validators, now: .milliseconds(3_000))
        } throws: { error in
            ChunkStoreError.Code.conflictingChunk ~= error
        }
        damaged.close()
    }

    @Test func recoverIntoACopyLeavesTheSourceAsItWas() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        let chunks = try await MaintenanceTestbed.fill(store)
        store.close()
        try bed.withRawEnvironment("a") { env in
            let byExpiry = try env.database("by_expiry")
            try env.write { txn in try txn.clear(byExpiry) }
        }
        let source = try bed.open("a")
        #expect(try source.check().problemCount == chunks.count)
        let copy = bed.configuration("b")
        let report = try await source.recover(into: copy.path)
        #expect(report.chunksKept == chunks.count)
        #expect(try source.check().problemCount == chunks.count)
        source.close()
        let recovered = try ChunkStore(copy)
        #expect(try recovered.check().isClean)
        recovered.close()
    }

    @Test func compactedCopyIsSmallerAndHoldsExactlyTheRemainingChunks() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        var chunks: [Chunk] = []
        for slot in UInt64(1)...40 {
            let chunk = MaintenanceTestbed.chunk(producer: Int(slot % 4), slot: slot, size: 8_000)
            _ = try await store.persistAndSign(
                chunk, validators: MaintenanceTestbed.validators, now: .milliseconds(Int64(slot) * 1_000))
            chunks.append(chunk)
        }
        let garbage = try await store.collectGarbage(upTo: .milliseconds(45_000))
        // Chunks of slots 1...35 expire at or before 45 s (slot start + 10 s).
        #expect(garbage.expiredPending == 35)
        try store.compact(to: bed.path("compact"))
        let before = try store.storageInfo().usedBytes
        store.close()
        let copy = try ChunkStore(adopting: bed.path("compact"), readOnly: true)
        #expect(try copy.storageInfo().usedBytes < before)
        let held = try copy.chunks(status: .pending)
        #expect(Set(held.map(\.id)) == Set(chunks.suffix(5).map(\.id)))
        #expect(try copy.check().isClean)
        copy.close()
    }
}
