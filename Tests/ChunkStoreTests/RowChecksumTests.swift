import ChunkStore
import StoreMaintenance
import DSMR
import Foundation
import LMDB
import Testing

/// `certificates` and `blocks` rows carry a checksum, so a flipped byte the
/// store has no other way to see (a certificate's signature without the
/// validator set, an executed block's state root) is found by `check`; rows
/// written before the checksum still read.
@Suite struct RowChecksumTests {
    static let root = try! StateRoot(bytes: [UInt8](repeating: 0x5A, count: StateRoot.byteCount))

    /// A store with blocks 1...3 accepted (as `TableCheckTests` makes them),
    /// none executed.
    static func storeWithBlocks() async throws -> (MaintenanceTestbed, [Block]) {
        let bed = MaintenanceTestbed()
        let store = try bed.open("a")
        defer { store.close() }
        let chunks = try await MaintenanceTestbed.fill(store)
        var blocks = [try #require(try store.block(at: 1))]
        for height in UInt64(2)...3 {
            let block = Block(
                parent: blocks.last!.id, height: height, timestamp: Int64(height) * 1_000 + 500,
                certificates: [MaintenanceTestbed.certificate(for: chunks[Int(height) * 2])])
            try await store.recordAccepted(block)
            blocks.append(block)
        }
        return (bed, blocks)
    }

    @Test func aFlippedByteInACertificatesSignatureIsFoundAndRecoverDropsTheRow() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        let chunks = try await MaintenanceTestbed.fill(store)
        store.close()
        let key = TableCheckTests.chunkKey(chunks[2])
        // The aggregate signature ends the certificate, which ends the row.
        try TableCheckTests.rewrite(bed, "certificates", key) { value in
            var changed = value
            changed[changed.count - 1] ^= 0x28
            return changed
        }
        let report = try TableCheckTests.check(bed)
        #expect(report.problems.map { "\($0.kind) \($0.key)" } == ["certificateCorrupt \(Hex.encode(key))"])
        #expect(report.problems.first?.detail.contains("checksum") == true, "\(report.problems)")
        #expect(report.problems.allSatisfy { $0.isRepairable })
        let writable = try bed.open("a")
        defer { writable.close() }
        #expect(try await writable.recover().certificatesDropped == 1)
        #expect(try writable.check().isClean)
    }

    @Test func aFlippedByteInAnExecutedBlocksStateRootIsFoundAndNotRepairable() async throws {
        let (bed, blocks) = try await Self.storeWithBlocks()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        try await store.markExecuted(height: 1, stateRoot: Self.root)
        try await store.markExecuted(height: 2, stateRoot: Self.root)
        #expect(try store.stateRoot(at: 2) == Self.root)
        #expect(try store.check().isClean)
        store.close()
        let rootStart = blocks[1].encoded().count
        let key = TableCheckTests.bigEndian(2)
        try TableCheckTests.rewrite(bed, "blocks", key) { value in
            var changed = value
            changed[rootStart + 5] ^= 0xC1
            return changed
        }
        let report = try TableCheckTests.check(bed)
        #expect(report.problems.map { "\($0.kind) \($0.key)" } == ["blockCorrupt \(Hex.encode(key))"])
        #expect(report.problems.first?.detail.contains("checksum") == true, "\(report.problems)")
        #expect(report.problems.allSatisfy { !$0.isRepairable })
    }

    @Test func rowsWrittenBeforeTheChecksumStillReadCheckAndDumpAndLoad() async throws {
        let (bed, blocks) = try await Self.storeWithBlocks()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        try await store.markExecuted(height: 1, stateRoot: Self.root)
        let certificate = try #require(blocks[1].certificates.first)
        let certificateKey =
            TableCheckTests.bigEndian(UInt64(certificate.reference.expiry)) + certificate.reference.chunkID.bytes
        store.close()
        // The old forms: a bare status and the certificate; the block's bytes
        // and, executed, its state root, with no checksum after either.
        try bed.withRawEnvironment("a") { env in
            let certificates = try env.database("certificates")
            let blockRows = try env.database("blocks")
            try env.write { txn in
                try txn.put([1] + certificate.encoded(), forKey: certificateKey, in: certificates)
                try txn.put(blocks[0].encoded() + Self.root.bytes, forKey: TableCheckTests.bigEndian(1), in: blockRows)
                try txn.put(blocks[1].encoded(), forKey: TableCheckTests.bigEndian(2), in: blockRows)
            }
        }
        let reader = try ChunkStore(adopting: bed.path("a"), readOnly: true)
        let report = try reader.check()
        #expect(report.isClean, "\(report.problems)")
        #expect(try reader.block(at: 1) == blocks[0])
        #expect(try reader.stateRoot(at: 1) == Self.root)
        #expect(try reader.block(at: 2) == blocks[1])
        #expect(try reader.stateRoot(at: 2) == nil)
        #expect(try reader.certificate(for: certificate.reference) == certificate)
        try reader.dump(to: bed.path("a.dump"))
        reader.close()
        try ChunkStore.load(dump: bed.path("a.dump"), into: bed.path("b"))
        let loaded = try ChunkStore(adopting: bed.path("b"), readOnly: true)
        defer { loaded.close() }
        #expect(try loaded.check().isClean)
        #expect(try loaded.stateRoot(at: 1) == Self.root)

        // Marking an old-form block executed writes it in the checked form.
        let writable = try bed.open("a")
        defer { writable.close() }
        try await writable.markExecuted(height: 2, stateRoot: Self.root)
        #expect(try writable.stateRoot(at: 2) == Self.root)
        #expect(try writable.check().isClean)
    }
}
