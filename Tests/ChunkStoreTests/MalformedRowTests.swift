import ChunkStore
import StoreMaintenance
import DSMR
import Foundation
import LMDB
import Testing

/// Rows of the wrong length written straight into LMDB: every read that meets
/// one reports it (a `corruptRecord` error or a check problem) instead of
/// reading past the row.
@Suite struct MalformedRowTests {
    /// A filled store with `key` → `value` written raw into `table`.
    static func store(with table: String, key: [UInt8], value: [UInt8]) async throws -> MaintenanceTestbed {
        let bed = MaintenanceTestbed()
        let store = try bed.open("a")
        try await MaintenanceTestbed.fill(store)
        store.close()
        try bed.withRawEnvironment("a") { env in
            let database = try env.database(table)
            try env.write { txn in try txn.put(value, forKey: key, in: database) }
        }
        return bed
    }

    static func isCorrupt(_ error: any Error, naming table: String) -> Bool {
        ChunkStoreError.Code.corruptRecord ~= error && "\(error)".contains(table)
    }

    /// `dsmr-store ls --status`: a short `by_expiry` key among the pending rows.
    @Test func listingByStatusReportsAShortExpiryKey() async throws {
        let bed = try await Self.store(with: "by_expiry", key: [ChunkStatus.pending.rawValue, 0, 0, 7], value: [])
        defer { bed.removeAll() }
        let store = try bed.open("a")
        defer { store.close() }
        #expect { _ = try store.chunks(status: .pending) } throws: { Self.isCorrupt($0, naming: "by_expiry") }
        #expect { _ = try store.locate(ChunkID(hashing: [1])) } throws: { Self.isCorrupt($0, naming: "by_expiry") }
        let report = try store.check()
        #expect(report.problems.contains { $0.kind == .malformedKey && $0.table == "by_expiry" })
    }

    /// `dsmr-store ls --producer`: a `by_slot_producer` key shorter than a
    /// slot at the start of the table, and one a byte too long in a slot.
    @Test func listingByProducerReportsMalformedIndexKeys() async throws {
        let producer = MaintenanceTestbed.signers[1].nodeID
        let short = try await Self.store(with: "by_slot_producer", key: [0, 0, 0], value: [])
        defer { short.removeAll() }
        let store = try short.open("a")
        #expect { _ = try store.chunks(producer: producer, slots: 0...10) } throws: {
            Self.isCorrupt($0, naming: "by_slot_producer")
        }
        #expect { _ = try store.chunks(producer: producer, slots: 0...Slot.max) } throws: {
            Self.isCorrupt($0, naming: "by_slot_producer")
        }
        #expect(try store.check().problems.contains { $0.kind == .malformedKey && $0.table == "by_slot_producer" })
        store.close()

        var long = SlotProducerKeyBytes.key(slot: 2, producer: producer)
        long += [UInt8](repeating: 9, count: 33)
        let longBed = try await Self.store(with: "by_slot_producer", key: long, value: [0, 0, 0, 0, 0, 0, 0, 1])
        defer { longBed.removeAll() }
        let other = try longBed.open("a")
        defer { other.close() }
        #expect { _ = try other.chunks(producer: producer, slots: 2...2) } throws: {
            Self.isCorrupt($0, naming: "by_slot_producer")
        }
    }

    /// `dsmr-store check`: the last `blocks` key is three bytes long.
    @Test func checkReportsAShortLastBlockKey() async throws {
        let bed = try await Self.store(with: "blocks", key: [0xFF, 0xFF, 0xFF], value: [1, 2, 3])
        defer { bed.removeAll() }
        let store = try bed.open("a")
        defer { store.close() }
        let report = try store.check()
        #expect(!report.isClean)
        #expect(report.problems.contains { $0.kind == .malformedKey && $0.table == "blocks" })
        // The tip is compared with the last block whose key decodes.
        #expect(report.problems.count == 1, "\(report.problems)")
    }

    /// `dsmr-store gc`: a pending `by_expiry` key too short to name a chunk
    /// is removed and counted, never an error (GC runs inside acceptance).
    @Test func garbageCollectionRemovesAndReportsAShortExpiryKey() async throws {
        let key: [UInt8] = [ChunkStatus.pending.rawValue, 0, 0, 0, 0, 0, 0, 0, 1, 5]
        let bed = try await Self.store(with: "by_expiry", key: key, value: [])
        defer { bed.removeAll() }
        let store = try bed.open("a")
        defer { store.close() }
        #expect(try store.check().problems.contains { $0.kind == .malformedKey && $0.table == "by_expiry" })
        let report = try await store.collectGarbage(upTo: .milliseconds(1_000_000))
        #expect(report.damagedRecords == 1)
        #expect(!(try store.check().problems.contains { $0.table == "by_expiry" }))
    }

    /// Point reads of `signed`, `ledger` and `meta` rows of the wrong length.
    @Test func pointReadsReportRowsOfTheWrongLength() async throws {
        let producer = MaintenanceTestbed.signers[1].nodeID
        let bed = try await Self.store(
            with: "signed", key: SlotProducerKeyBytes.perProducer(number: 1, producer: producer), value: [1, 2])
        defer { bed.removeAll() }
        try bed.withRawEnvironment("a") { env in
            let ledger = try env.database("ledger")
            let meta = try env.database("meta")
            try env.write { txn in
                try txn.put([1], forKey: SlotProducerKeyBytes.perProducer(number: 0, producer: producer), in: ledger)
                try txn.put([1, 2, 3], forKey: Array("watermark".utf8), in: meta)
            }
        }
        let store = try ChunkStore(adopting: bed.path("a"), readOnly: true)
        defer { store.close() }
        #expect { _ = try store.signedChunk(producer: producer, slot: 1) } throws: {
            Self.isCorrupt($0, naming: "signed")
        }
        #expect { _ = try store.ledgerUsage(producer: producer, window: 0) } throws: {
            Self.isCorrupt($0, naming: "ledger")
        }
        #expect { _ = try store.watermark() } throws: { Self.isCorrupt($0, naming: "watermark") }
        #expect { _ = try store.exportSigningHistory() } throws: { Self.isCorrupt($0, naming: "signed") }
    }
}

/// Raw keys as the store lays them out, built by hand so the tests do not
/// lean on the store's own encoders.
enum SlotProducerKeyBytes {
    static func bigEndian(_ value: UInt64) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }

    /// The `by_slot_producer` prefix of one producer's chunks in `slot`.
    static func key(slot: UInt64, producer: NodeID) -> [UInt8] { bigEndian(slot) + producer.bytes }

    /// A `signed`, `ledger` or `evidence` key.
    static func perProducer(number: UInt64, producer: NodeID) -> [UInt8] { bigEndian(number) + producer.bytes }
}
