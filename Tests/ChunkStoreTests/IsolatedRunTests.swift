import ChunkStore
import Foundation
import Testing

/// `dsmr-store` runs each command that opens a store in a child process: a
/// child that dies by a signal or stops making progress is reported as
/// damage (exit 2), with the table and key it had reached.
@Suite struct IsolatedRunTests {
    /// What the tool prints with `--json` when the reading child failed.
    struct Failure: Decodable {
        let outcome: String
        let message: String
        let signal: Int32?
        let table: String?
        let key: String?
        let hung: Bool?
    }

    /// Gives the first entry of every leaf page keyed like `chunks` (40-byte
    /// keys: expiry and id) a value length of 2 GiB: LMDB lends a buffer far
    /// past the map, and reading the chunk faults.
    private func overstateChunkLengths(_ path: String) throws -> Int {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let map = try PageMap(dataFile: path)
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        var damaged = 0
        for page in map.pages["leaf"] ?? [] {
            let start = page * map.pageSize
            guard u16(start + 12) > 16 else { continue }
            // MDB_node: data size (lo, hi), flags, key size, key.
            let node = start + u16(start + 16)
            guard node + 8 <= start + map.pageSize, u16(node + 4) == 0, u16(node + 6) == 40,
                u16(node) | u16(node + 2) << 16 >= 200
            else { continue }
            bytes.replaceSubrange(node..<node + 4, with: [0xff, 0xff, 0xff, 0x7f])
            damaged += 1
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return damaged
    }

    @Test func aReadThatFaultsIsReportedAsDamageWithTheTableItReached() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        try await MaintenanceTestbed.fill(store)
        store.close()
        #expect(try overstateChunkLengths(bed.path("a") + "/data.mdb") > 0)

        let text = try ToolRun.dsmrStore(["check", "-s", bed.path("a")], deadline: 60)
        #expect(text.signal == nil)
        #expect(text.status == 2, "\(text.error)")
        #expect(text.error.contains("the store is damaged: `check` was killed by signal"), "\(text.error)")
        #expect(text.error.contains("in table '"), "\(text.error)")

        let json = try ToolRun.dsmrStore(["check", "-s", bed.path("a"), "--json"], deadline: 60)
        #expect(json.status == 2)
        let failure = try JSONDecoder().decode(Failure.self, from: Data(json.output.utf8))
        #expect(failure.outcome == "damaged")
        #expect(failure.signal == SIGSEGV || failure.signal == SIGBUS)
        #expect(failure.table == "chunks" || failure.table == "certificates", "\(failure.message)")
        #expect(failure.key != nil && failure.hung == false)
    }

    @Test func aChildThatMakesNoProgressIsStoppedAndReportedAsHung() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        try bed.open("a").close()
        // A write lock on the byte LMDB locks at open: the child's open waits
        // for it (F_SETLKW) and makes no progress, as a stuck store can.
        let lockFile = open(bed.path("a") + "/lock.mdb", O_RDWR)
        try #require(lockFile >= 0)
        defer { close(lockFile) }
        var region = flock()
        region.l_type = Int16(F_WRLCK)
        region.l_whence = Int16(SEEK_SET)
        region.l_start = 0
        region.l_len = 1
        try #require(fcntl(lockFile, F_SETLK, &region) == 0)
        let started = Date()
        let run = try ToolRun.dsmrStore(
            ["check", "-s", bed.path("a"), "--json"], environment: ["DSMR_STORE_WATCHDOG_SECONDS": "1"], deadline: 60)
        #expect(run.signal == nil && !run.timedOut)
        #expect(run.status == 2, "\(run.error)")
        #expect(run.error.contains("`check` made no progress for 1.0 s and was stopped"), "\(run.error)")
        let failure = try JSONDecoder().decode(Failure.self, from: Data(run.output.utf8))
        #expect(failure.hung == true && failure.signal == nil)
        #expect(Date().timeIntervalSince(started) < 30)
    }
}
