import ChunkStore
import DSMR
import Foundation
import Testing

/// A store's files reached through symbolic links: an open maps, and a
/// writer writes, only the files in the store's own directory.
@Suite struct StoreFileLinkTests {
    @Test func aDataFileThatIsASymbolicLinkIsRefusedByEveryOpenNamingIt() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let other = try bed.open("other")
        try await MaintenanceTestbed.fill(other)
        other.close()
        let target = bed.path("other/data.mdb")
        let before = try Data(contentsOf: URL(fileURLWithPath: target))
        let store = bed.path("a")
        try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(atPath: store + "/data.mdb", withDestinationPath: target)
        let opens: [(String, () throws -> ChunkStore)] = [
            ("node", { try bed.open("a") }),
            ("read-only tool", { try ChunkStore(adopting: store, readOnly: true) }),
            ("writing tool", { try ChunkStore(adopting: store, readOnly: false) }),
        ]
        for (name, open) in opens {
            let error = #expect(throws: ChunkStoreError.self, "\(name)") { try open().close() }
            #expect(error?.code == .damaged, "\(name): \(String(describing: error))")
            #expect(
                error?.message.contains("\(store)/data.mdb is a symbolic link") == true,
                "\(name): \(String(describing: error))")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == before)

        let tool = try StoreToolTests.run(["stats", "-s", store])
        #expect(tool.status == 2, "\(tool.error)")
        #expect(tool.error.contains("\(store)/data.mdb is a symbolic link"), "\(tool.error)")
    }

    @Test func aWriterLockThatIsASymbolicLinkIsRefusedAndItsTargetNeverWritten() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        try await MaintenanceTestbed.fill(store)
        store.close()
        let victim = bed.path("victim")
        let precious = Data("not to be truncated\n".utf8)
        try precious.write(to: URL(fileURLWithPath: victim))
        let lock = bed.path("a/writer.lock")
        try FileManager.default.removeItem(atPath: lock)
        try FileManager.default.createSymbolicLink(atPath: lock, withDestinationPath: victim)
        let error = #expect(throws: ChunkStoreError.self) { try bed.open("a").close() }
        #expect(error?.code == .damaged, "\(String(describing: error))")
        #expect(error?.message.contains("\(lock) is a symbolic link") == true, "\(String(describing: error))")
        #expect(try Data(contentsOf: URL(fileURLWithPath: victim)) == precious)
        // Read-only opens never take the lock, and still read the store.
        let reader = try ChunkStore(adopting: bed.path("a"), readOnly: true)
        #expect(try reader.watermark() == 1_500)
        reader.close()
    }
}
