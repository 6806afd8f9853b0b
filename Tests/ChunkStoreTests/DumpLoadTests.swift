@testable import ChunkStore
@testable import StoreMaintenance
import DSMR
import Foundation
import Testing

/// `load` reads the dump through one descriptor, checks every field against
/// its bounds, and writes exactly the bytes it verified.
@Suite struct DumpLoadTests {
    /// Dumps a filled store to `name`; returns the dump's bytes.
    static func dump(
        _ bed: MaintenanceTestbed, _ name: String, slots: ClosedRange<UInt64> = 1...6
    ) async throws -> [UInt8] {
        let store = try bed.open("source-" + name)
        try await MaintenanceTestbed.fill(store, slots: slots)
        try store.dump(to: bed.path(name))
        store.close()
        return try #require(FileManager.default.contents(atPath: bed.path(name)).map { Array($0) })
    }

    /// The rows of a store as a dump lists them, without the header and checksum.
    static func rows(ofDump bytes: [UInt8]) -> ArraySlice<UInt8> { bytes[16..<(bytes.count - 33)] }

    @Test func aDumpSwappedAfterItWasOpenedDoesNotChangeWhatIsLoaded() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let original = try await Self.dump(bed, "original.dump", slots: 1...6)
        _ = try await Self.dump(bed, "other.dump", slots: 7...9)
        let summary = try ChunkStore.load(
            dump: bed.path("original.dump"), into: bed.path("b"), progress: nil,
            afterOpening: { #expect(rename(bed.path("other.dump"), bed.path("original.dump")) == 0) })
        #expect(summary.rows["chunks"] == 18)
        let copy = try bed.open("b")
        try copy.dump(to: bed.path("again.dump"))
        copy.close()
        let again = try #require(FileManager.default.contents(atPath: bed.path("again.dump")).map { Array($0) })
        #expect(Self.rows(ofDump: again) == Self.rows(ofDump: original))
    }

    @Test func aHostileDumpSwappedInAfterOpeningIsNeverRead() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        _ = try await Self.dump(bed, "original.dump")
        // A table byte past the schema's tables, then lengths of 4 GiB.
        let hostile = StoreDump.header() + [0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        #expect(FileManager.default.createFile(atPath: bed.path("hostile.dump"), contents: Data(hostile)))
        _ = try ChunkStore.load(
            dump: bed.path("original.dump"), into: bed.path("b"), progress: nil,
            afterOpening: { #expect(rename(bed.path("hostile.dump"), bed.path("original.dump")) == 0) })
        let copy = try bed.open("b")
        #expect(try copy.check().isClean)
        copy.close()
    }

    /// A dump of `rows` with a correct checksum.
    static func craft(_ rows: [[UInt8]]) -> [UInt8] {
        let body = StoreDump.header() + rows.flatMap { $0 } + [StoreDump.endMarker]
        return body + ChunkID(hashing: body).bytes
    }

    static func row(_ table: UInt8, _ key: [UInt8], _ value: [UInt8]) -> [UInt8] {
        [table] + StoreDump.lengthBytes(key.count) + key + StoreDump.lengthBytes(value.count) + value
    }

    @Test func everyFieldIsBoundedAndAFailedLoadLeavesNoStore() throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let height: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 1]
        let cases: [(String, [UInt8], String)] = [
            (
                "unknown table", Self.craft([[0x7F] + StoreDump.lengthBytes(1) + [1] + StoreDump.lengthBytes(0)]),
                "unknown table 127"
            ),
            ("empty key", Self.craft([Self.row(1, [], [1])]), "key length 0"),
            ("long key", Self.craft([Self.row(1, [UInt8](repeating: 1, count: 512), [1])]), "key length 512"),
            (
                "huge value", Self.craft([[1] + StoreDump.lengthBytes(1) + [1] + [0xFF, 0xFF, 0xFF, 0xFF]]),
                "4294967295 bytes"
            ),
            ("repeated row", Self.craft([Self.row(8, height, [1]), Self.row(8, height, [2])]), "out of order"),
            ("tables out of order", Self.craft([Self.row(8, height, [1]), Self.row(2, [2], [2])]), "out of order"),
            ("load marker", Self.craft([Self.row(0, Array("load_incomplete".utf8), [1])]), "unfinished load"),
            ("cut in a row", Array(Self.craft([Self.row(1, [1, 2, 3], [4, 5, 6])]).prefix(20)), "runs past the end"),
            ("trailing bytes", Self.craft([Self.row(8, height, [1])]) + [0], "follow the checksum"),
            ("bad checksum", Self.craft([Self.row(8, height, [1])]).dropLast() + [0], "checksum does not match"),
        ]
        for (name, bytes, message) in cases {
            #expect(FileManager.default.createFile(atPath: bed.path("crafted.dump"), contents: Data(bytes)))
            #expect {
                try ChunkStore.load(dump: bed.path("crafted.dump"), into: bed.path("b"))
            } throws: { error in
                ChunkStoreError.Code.badInterchange ~= error && "\(error)".contains(message)
            }
            #expect(!FileManager.default.fileExists(atPath: bed.path("b")), "\(name)")
        }
        // An empty directory given by the caller stays, empty.
        try FileManager.default.createDirectory(atPath: bed.path("empty"), withIntermediateDirectories: false)
        #expect(throws: ChunkStoreError.self) {
            try ChunkStore.load(dump: bed.path("crafted.dump"), into: bed.path("empty"))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: bed.path("empty")).isEmpty)
    }

    @Test func aRowThatDoesNotMatchTheSchemaIsRefusedNamingTableAndRow() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let expiry = StoreDump.lengthBytes(0) + StoreDump.lengthBytes(9_000)
        let cases: [(String, [UInt8], String)] = [
            // A 1-byte by_slot_producer key: `ls --producer` once read 7 bytes past it.
            ("short index key", Self.craft([Self.row(2, [7], expiry)]), "by_slot_producer"),
            (
                "short index value", Self.craft([Self.row(2, [UInt8](repeating: 0, count: 60), [1, 2])]),
                "by_slot_producer"
            ),
            (
                "signed row flags",
                Self.craft([Self.row(5, [UInt8](repeating: 0, count: 28), [1] + [UInt8](repeating: 0, count: 40) + [9])]
                ),
                "signed"
            ),
            ("ledger row", Self.craft([Self.row(6, [UInt8](repeating: 0, count: 28), [1, 2, 3])]), "ledger"),
            (
                "chunk header",
                Self.craft([Self.row(1, [UInt8](repeating: 0, count: 40), [UInt8](repeating: 1, count: 200))]),
                "chunks"
            ),
            ("unknown meta row", Self.craft([Self.row(0, Array("surprise".utf8), [1])]), "meta"),
            ("short watermark", Self.craft([Self.row(0, Array("watermark".utf8), [1])]), "meta"),
            (
                "negative expiry key", Self.craft([Self.row(3, [0] + [0x80] + [UInt8](repeating: 0, count: 39), [])]),
                "by_expiry"
            ),
        ]
        for (index, (name, bytes, table)) in cases.enumerated() {
            #expect(FileManager.default.createFile(atPath: bed.path("crafted.dump"), contents: Data(bytes)))
            #expect {
                try ChunkStore.load(dump: bed.path("crafted.dump"), into: bed.path("b\(index)"))
            } throws: { error in
                ChunkStoreError.Code.badInterchange ~= error && "\(error)".contains("row 1 (\(table),")
            }
            #expect(!FileManager.default.fileExists(atPath: bed.path("b\(index)")), "\(name)")
        }
    }

    @Test func everyKindOfRowPassesTheSchemaCheckAndLoadsUnchanged() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        try await MaintenanceTestbed.fill(store)
        // Evidence, and `signed` rows of chunks not held (imported).
        let first = MaintenanceTestbed.chunk(producer: 2, slot: 7, payload: 1)
        let second = MaintenanceTestbed.chunk(producer: 2, slot: 7, payload: 2)
        let validators = MaintenanceTestbed.validators
        _ = try await store.persistAndSign(first, validators: validators, now: .milliseconds(7_000))
        await #expect {
            _ = try await store.persistAndSign(second, validators: validators, now: .milliseconds(7_000))
        } throws: { ChunkStoreError.Code.conflictingChunk ~= $0 }
        var history = try store.exportSigningHistory()
        history.data.append(
            SigningHistory.ProducerHistory(
                producer: MaintenanceTestbed.signers[3].nodeID,
                signedChunks: [SigningHistory.SignedChunk(slot: 8, chunkID: ChunkID(hashing: [8]))]))
        history.data.sort { $0.producer < $1.producer }
        _ = try await store.importSigningHistory(history)
        try store.dump(to: bed.path("a.dump"))
        store.close()
        let original = try #require(FileManager.default.contents(atPath: bed.path("a.dump")).map { Array($0) })

        let summary = try ChunkStore.load(dump: bed.path("a.dump"), into: bed.path("b"))
        #expect(summary.rows["evidence"] == 1)
        let copy = try bed.open("b")
        #expect(try copy.check().isClean)
        try copy.dump(to: bed.path("b.dump"))
        copy.close()
        let again = try #require(FileManager.default.contents(atPath: bed.path("b.dump")).map { Array($0) })
        #expect(again == original)
    }
}
