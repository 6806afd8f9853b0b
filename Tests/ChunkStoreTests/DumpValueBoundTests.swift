@testable import ChunkStore
@testable import StoreMaintenance
import DSMR
import Foundation
import Testing

/// A dump row's value length is bounded by the largest value its table can
/// legally hold (chunks by the rules' `maxChunkBytes`), not only by the
/// file's size, and is refused before the value is read.
@Suite struct DumpValueBoundTests {
    /// The rows of a dump: (table, key, value), in order.
    static func parse(_ dump: [UInt8]) throws -> [(table: UInt8, key: [UInt8], value: [UInt8])] {
        var rows: [(UInt8, [UInt8], [UInt8])] = []
        var at = StoreDump.header().count
        func length() -> Int {
            defer { at += 4 }
            return dump[at..<at + 4].reduce(0) { $0 << 8 | Int($1) }
        }
        while dump[at] != StoreDump.endMarker {
            let table = dump[at]
            at += 1
            let keyLength = length()
            let key = Array(dump[at..<at + keyLength])
            at += keyLength
            let valueLength = length()
            rows.append((table, key, Array(dump[at..<at + valueLength])))
            at += valueLength
        }
        return rows
    }

    static func expectRefused(_ bytes: [UInt8], _ bed: MaintenanceTestbed, _ words: [String]) {
        #expect(FileManager.default.createFile(atPath: bed.path("crafted.dump"), contents: Data(bytes)))
        #expect {
            try ChunkStore.load(dump: bed.path("crafted.dump"), into: bed.path("b"))
        } throws: { error in
            ChunkStoreError.Code.badInterchange ~= error && words.allSatisfy { "\(error)".contains($0) }
        }
        #expect(!FileManager.default.fileExists(atPath: bed.path("b")))
    }

    @Test func aChunkRecordLongerThanTheRulesAllowIsRefusedNamingTheRow() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let rows = try Self.parse(try await DumpLoadTests.dump(bed, "store.dump"))
        let index = try #require(rows.firstIndex { $0.table == 1 })
        let limit = ChunkRecord.headerSize + MaintenanceTestbed.rules.maxChunkBytes
        var crafted = rows
        // The record's header still decodes; its chunk runs past maxChunkBytes.
        crafted[index].value += [UInt8](repeating: 0xEE, count: limit + 1 - rows[index].value.count)
        let bytes = DumpLoadTests.craft(crafted.map { DumpLoadTests.row($0.table, $0.key, $0.value) })
        Self.expectRefused(
            bytes, bed,
            [
                "row \(index + 1) (chunks, key \(Hex.encode(rows[index].key)))",
                "declares a value of \(limit + 1) bytes", "at most \(limit) bytes",
            ])
        // One byte less is within the bound: no length check refuses it.
        crafted[index].value.removeLast()
        let edge = DumpLoadTests.craft(crafted.map { DumpLoadTests.row($0.table, $0.key, $0.value) })
        #expect(FileManager.default.createFile(atPath: bed.path("edge.dump"), contents: Data(edge)))
        do {
            try ChunkStore.load(dump: bed.path("edge.dump"), into: bed.path("c"))
        } catch {
            #expect(!"\(error)".contains("declares a value"), "\(error)")
        }
    }

    /// A record whose header decodes but whose chunk is not the one its key
    /// names (a flipped byte, another chunk's bytes) is not loaded.
    @Test func aChunkRecordWhoseChunkIsNotTheKeysIsRefusedNamingTheRow() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let rows = try Self.parse(try await DumpLoadTests.dump(bed, "store.dump"))
        let chunkRows = rows.indices.filter { rows[$0].table == 1 }
        let index = chunkRows[0]
        var flipped = rows
        flipped[index].value[ChunkRecord.headerSize + 10] ^= 0x01
        var swapped = rows
        swapped[index].value =
            Array(rows[index].value.prefix(ChunkRecord.headerSize))
            + rows[chunkRows[1]].value.dropFirst(ChunkRecord.headerSize)
        for crafted in [flipped, swapped] {
            let bytes = DumpLoadTests.craft(crafted.map { DumpLoadTests.row($0.table, $0.key, $0.value) })
            Self.expectRefused(
                bytes, bed, ["row \(index + 1) (chunks, key \(Hex.encode(rows[index].key)))", "do not hash to"])
        }
    }

    @Test func aFixedSizeRowWithALongValueIsRefusedBeforeItIsRead() {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let key = [UInt8](repeating: 0, count: 28)
        let cases: [(UInt8, String, Int)] = [(6, "ledger", 40), (5, "signed", 42), (2, "by_slot_producer", 8)]
        for (table, name, legal) in cases {
            let value = [UInt8](repeating: 1, count: 1 << 20)
            let bytes = DumpLoadTests.craft([DumpLoadTests.row(table, key, value)])
            Self.expectRefused(
                bytes, bed,
                [
                    "row 1 (\(name), key \(Hex.encode(key)))", "declares a value of \(1 << 20) bytes",
                    "at most \(legal) bytes",
                ])
            // Refused at the length: the file may end right after it.
            let cut = Array(bytes.prefix(StoreDump.header().count + 1 + 4 + key.count + 4))
            Self.expectRefused(cut, bed, ["row 1 (\(name)", "declares a value of \(1 << 20) bytes"])
        }
    }
}
