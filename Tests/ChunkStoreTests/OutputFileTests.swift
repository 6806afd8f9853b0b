import ChunkStore
import StoreMaintenance
import DSMR
import Foundation
import Testing

/// Files the tools write (dumps, signing-history exports, compacted and
/// recovered copies): never through a symbolic link, never readable by
/// others, never over an existing output unless forced, never into a store.
@Suite struct OutputFileTests {
    static func mode(_ path: String) -> mode_t {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode & 0o7777 : 0
    }

    static func contents(_ path: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path).map { Array($0) }
    }

    @Test func aDumpNeverFollowsASymbolicLinkAtItsTemporaryPath() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        try await MaintenanceTestbed.fill(store)
        let victim = bed.path("victim")
        try Data("precious".utf8).write(to: URL(fileURLWithPath: victim))
        try FileManager.default.createSymbolicLink(atPath: bed.path("out.dump.partial"), withDestinationPath: victim)

        try store.dump(to: bed.path("out.dump"))
        store.close()
        #expect(Self.contents(victim) == Array("precious".utf8))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: bed.path("out.dump.partial")) == victim)
        #expect(Self.mode(bed.path("out.dump")) == 0o600)
        _ = try ChunkStore.load(dump: bed.path("out.dump"), into: bed.path("b"))
    }

    @Test func aDumpIsMode0600EvenBesideAWorldWritablePartialFile() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        try await MaintenanceTestbed.fill(store)
        let stale = bed.path("out.dump.partial")
        #expect(FileManager.default.createFile(atPath: stale, contents: Data("stale".utf8)))
        #expect(chmod(stale, 0o666) == 0)

        try store.dump(to: bed.path("out.dump"))
        store.close()
        #expect(Self.mode(bed.path("out.dump")) == 0o600)
        #expect(Self.contents(stale) == Array("stale".utf8))
    }

    @Test func anExistingOutputIsReplacedOnlyWhenForced() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        try await MaintenanceTestbed.fill(store)
        let output = bed.path("out.dump")
        try Data("older".utf8).write(to: URL(fileURLWithPath: output))
        #expect { try store.dump(to: output) } throws: { error in
            ChunkStoreError.Code.alreadyExists ~= error && "\(error)".contains(output)
        }
        #expect(Self.contents(output) == Array("older".utf8))

        // Forced, a symbolic link at the output is replaced itself; its target is not written.
        let victim = bed.path("victim")
        try Data("precious".utf8).write(to: URL(fileURLWithPath: victim))
        try FileManager.default.removeItem(atPath: output)
        try FileManager.default.createSymbolicLink(atPath: output, withDestinationPath: victim)
        #expect { try store.dump(to: output) } throws: { ChunkStoreError.Code.alreadyExists ~= $0 }
        try store.dump(to: output, replacing: true)
        #expect(Self.contents(victim) == Array("precious".utf8))
        #expect(Self.mode(output) == 0o600)
        #expect(try FileManager.default.attributesOfItem(atPath: output)[.type] as? FileAttributeType == .typeRegular)

        let history = bed.path("history.json")
        try store.exportSigningHistory(to: history)
        #expect(Self.mode(history) == 0o600)
        #expect { try store.exportSigningHistory(to: history) } throws: { ChunkStoreError.Code.alreadyExists ~= $0 }
        try store.exportSigningHistory(to: history, replacing: true)
        #expect(try SigningHistory(json: Self.contents(history) ?? []) == store.exportSigningHistory())
        store.close()
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: bed.directory).filter {
            $0.hasSuffix(".partial") || $0.hasSuffix(".tmp")
        }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    @Test func noOutputIsWrittenInsideAStoreDirectory() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        try await MaintenanceTestbed.fill(store)
        let dataFile = bed.path("a/data.mdb")
        let before = Self.contents(dataFile)
        try FileManager.default.createSymbolicLink(atPath: bed.path("alias"), withDestinationPath: bed.path("a"))
        for output in [dataFile, bed.path("a/lock.mdb"), bed.path("a/anything"), bed.path("alias/x")] {
            #expect(throws: ChunkStoreError.self) { try store.dump(to: output, replacing: true) }
            #expect(throws: ChunkStoreError.self) { try store.exportSigningHistory(to: output, replacing: true) }
        }
        try FileManager.default.createDirectory(atPath: bed.path("a/sub"), withIntermediateDirectories: false)
        #expect { try store.dump(to: bed.path("a/sub/x")) } throws: { error in
            ChunkStoreError.Code.outputInsideStore ~= error && "\(error)".contains(bed.path("a"))
        }
        #expect { try store.compact(to: bed.path("a/copy")) } throws: { ChunkStoreError.Code.outputInsideStore ~= $0 }
        await #expect { _ = try await store.recover(into: bed.path("alias/copy")) } throws: {
            ChunkStoreError.Code.outputInsideStore ~= $0
        }
        #expect { try store.compact(to: bed.path("a")) } throws: { ChunkStoreError.Code.alreadyExists ~= $0 }
        // A symbolic link as the new store's directory is not followed.
        try FileManager.default.createDirectory(atPath: bed.path("elsewhere"), withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(atPath: bed.path("link"), withDestinationPath: bed.path("elsewhere"))
        #expect { try store.compact(to: bed.path("link")) } throws: { ChunkStoreError.Code.alreadyExists ~= $0 }
        #expect(try FileManager.default.contentsOfDirectory(atPath: bed.path("elsewhere")).isEmpty)
        try store.dump(to: bed.path("out.dump"))
        #expect { try ChunkStore.load(dump: bed.path("out.dump"), into: bed.path("alias/loaded")) } throws: {
            ChunkStoreError.Code.outputInsideStore ~= $0
        }
        store.close()
        #expect(Self.contents(dataFile) == before)
        #expect(!FileManager.default.fileExists(atPath: bed.path("a/copy")))
        #expect(!FileManager.default.fileExists(atPath: bed.path("a/loaded")))
        let reopened = try bed.open("a")
        #expect(try reopened.check().isClean)
        reopened.close()
    }

    @Test func theToolRefusesToDumpOverTheStoresOwnDataFile() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        try await MaintenanceTestbed.fill(store)
        store.close()
        let before = Self.contents(bed.path("a/data.mdb"))
        for arguments in [["-o", bed.path("a/data.mdb")], ["-o", bed.path("a/data.mdb"), "--force"]] {
            let run = try StoreToolTests.run(["dump", "-s", bed.path("a")] + arguments)
            #expect(run.status == 1)
            #expect(run.error.contains("inside the store"), "\(run.error)")
        }
        #expect(Self.contents(bed.path("a/data.mdb")) == before)
        #expect(try StoreToolTests.run(["check", "-s", bed.path("a")]).status == 0)

        let first = try StoreToolTests.run(["dump", "-s", bed.path("a"), "-o", bed.path("out.dump")])
        #expect(first.status == 0, "\(first.error)")
        let again = try StoreToolTests.run(["dump", "-s", bed.path("a"), "-o", bed.path("out.dump")])
        #expect(again.status == 1)
        #expect(again.error.contains("--force"), "\(again.error)")
        let forced = try StoreToolTests.run(["dump", "-s", bed.path("a"), "-o", bed.path("out.dump"), "--force"])
        #expect(forced.status == 0, "\(forced.error)")

        // Copies from a store opened read-only, as the tool opens it.
        for command in ["compact", "recover"] {
            let copy = try StoreToolTests.run([command, "-s", bed.path("a"), "-o", bed.path(command)])
            #expect(copy.status == 0, "\(copy.error)")
            #expect(Self.mode(bed.path(command + "/data.mdb")) == 0o600)
            let inside = try StoreToolTests.run([command, "-s", bed.path("a"), "-o", bed.path("a/" + command)])
            #expect(inside.status == 1 && inside.error.contains("inside the store"), "\(inside.error)")
            let again = try StoreToolTests.run([command, "-s", bed.path("a"), "-o", bed.path(command)])
            #expect(again.status == 1 && again.error.contains("already holds a store"), "\(again.error)")
        }
        #expect(try StoreToolTests.run(["check", "-s", bed.path("compact")]).status == 0)
    }

    @Test func compactedAndRecoveredCopiesAreReadableOnlyByTheirOwner() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        try await MaintenanceTestbed.fill(store)
        try store.compact(to: bed.path("compacted"))
        _ = try await store.recover(into: bed.path("recovered"))
        store.close()
        for copy in ["compacted", "recovered"] {
            #expect(Self.mode(bed.path(copy + "/data.mdb")) == 0o600, "\(copy)")
            #expect(Self.mode(bed.path(copy)) & 0o077 == 0, "\(copy)")
        }
    }
}
