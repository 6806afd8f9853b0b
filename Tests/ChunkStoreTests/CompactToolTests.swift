import ChunkStore
import StoreMaintenance
import DSMR
import DSMRTestSupport
import Foundation
import Testing

/// `dsmr-store compact` never copies a store a node is still writing, and
/// `--in-place` compacts a stopped node's store where it lies.
@Suite struct CompactToolTests {
    static func fileSize(_ path: String) throws -> Int {
        try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
    }

    @Test func compactRefusesBesideALiveWriterAndNamesIt() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        try await MaintenanceTestbed.fill(store)
        for arguments in [["-o", bed.path("copy")], ["--in-place"]] {
            let refused = try StoreToolTests.run(["compact", "-s", bed.path("a")] + arguments)
            #expect(refused.status == 1, "compact \(arguments) ran beside the writer")
            #expect(refused.error.contains("held by another writer (pid \(getpid())"), "\(refused.error)")
        }
        #expect(!FileManager.default.fileExists(atPath: bed.path("copy") + "/data.mdb"))
        store.close()
    }

    /// A process that has the store open, reading (a reader slot with its
    /// pid) or idle (only LMDB's shared lock on lock.mdb), would go on
    /// reading the replaced file: `--in-place` refuses, naming its pid, and
    /// leaves data.mdb as it was.
    @Test(arguments: ["reading", "idle"])
    func compactInPlaceRefusesWhileAnotherProcessHasTheStoreOpen(mode: String) async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        try await MaintenanceTestbed.fill(store)
        store.close()
        let data = bed.path("a") + "/data.mdb"
        let before = try Data(contentsOf: URL(fileURLWithPath: data))
        let child = try ChildProcess(
            try builtExecutable("lmdb-reader-child"), [bed.path("a")] + (mode == "idle" ? ["idle"] : []))
        #expect(try child.readLine(timeout: 20) == "ready")

        let refused = try StoreToolTests.run(["compact", "-s", bed.path("a"), "--in-place"])
        #expect(refused.status == 1, "compact --in-place ran beside a \(mode) process")
        #expect(refused.error.contains("pid \(child.pid)"), "\(refused.error)")
        // A reader is seen in the reader table; an idle opener by LMDB's lock.
        #expect(refused.error.contains(mode == "idle" ? "lock.mdb" : "reader table"), "\(refused.error)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: data)) == before)
        let library = #expect(throws: ChunkStoreError.self) { try ChunkStore.compactInPlace(at: bed.path("a")) }
        #expect(library?.code == .locked, "\(String(describing: library))")

        child.killHard()
        _ = child.wait()
        let compacted = try StoreToolTests.run(["compact", "-s", bed.path("a"), "--in-place"])
        #expect(compacted.status == 0, "\(compacted.error)")
    }

    @Test func compactInPlaceShrinksTheFileAndKeepsEveryRow() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        for slot in UInt64(1)...40 {
            let chunk = MaintenanceTestbed.chunk(producer: Int(slot % 4), slot: slot, size: 8_000)
            let now = ChainTime.milliseconds(Int64(slot) * 1_000)
            _ = try await store.persistAndSign(chunk, validators: MaintenanceTestbed.validators, now: now)
        }
        try await store.collectGarbage(upTo: .milliseconds(45_000))
        let pending = Set(try store.chunks(status: .pending).map(\.id))
        let history = try store.exportSigningHistory()
        store.close()
        let data = bed.path("a") + "/data.mdb"
        let before = try Self.fileSize(data)

        let compacted = try StoreToolTests.run(["compact", "-s", bed.path("a"), "--in-place"])
        #expect(compacted.status == 0, "\(compacted.error)")
        #expect(try Self.fileSize(data) < before)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: bed.path("a"))
        #expect(Set(leftovers) == ["data.mdb", "lock.mdb", "writer.lock"], "\(leftovers)")

        let reopened = try bed.open("a")
        defer { reopened.close() }
        #expect(Set(try reopened.chunks(status: .pending).map(\.id)) == pending)
        #expect(try reopened.exportSigningHistory() == history)
        #expect(try reopened.check().isClean)
        // Still a working store: it signs.
        let next = MaintenanceTestbed.chunk(producer: 1, slot: 46)
        _ = try await reopened.persistAndSign(
            next, validators: MaintenanceTestbed.validators, now: .milliseconds(46_000))
    }
}
