import DSMRTestSupport
import Foundation
import LMDB
import Testing

/// A data file damaged before it is opened: the open fails with a typed error
/// instead of LMDB mapping a file it cannot trust, and a read-only open leaves
/// `data.mdb` exactly as it was.
@Suite("Checking data.mdb before mapping it")
struct DataFileCheckTests {
    /// Makes an environment holding `count` entries of 300 bytes (several
    /// pages, a branch page) in `directory`, closed; returns its page size.
    @discardableResult
    private func populate(_ directory: String, count: Int = 200) throws -> Int {
        var options = EnvironmentOptions(path: directory)
        options.databases = ["main"]
        let env = try Environment(options)
        defer { env.close() }
        let main = try env.database("main")
        try env.write { txn in
            for index in 0..<count {
                let value = [UInt8](repeating: UInt8(index % 251), count: 300)
                try txn.put(value, forKey: bigEndianKey(UInt64(index)), in: main)
            }
        }
        try env.write { txn in try txn.put(bytes("last"), forKey: bytes("z"), in: main) }
        return try env.info().pageSize
    }

    private func open(_ directory: String, readOnly: Bool = true) throws -> Environment {
        var options = EnvironmentOptions(path: directory)
        options.databases = ["main"]
        options.readOnly = readOnly
        return try Environment(options)
    }

    private func data(_ directory: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory + "/data.mdb")))
    }

    private func write(_ bytes: [UInt8], _ directory: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: directory + "/data.mdb"))
    }

    /// Expects opening `directory` (read-only, then writable) to fail with
    /// `code` and a message containing `words`, leaving data.mdb unchanged.
    private func expectRefused(
        _ directory: String, _ code: LMDBError.Code, _ words: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let before = try data(directory)
        for readOnly in [true, false] {
            let error = #expect(throws: LMDBError.self, sourceLocation: sourceLocation) {
                try open(directory, readOnly: readOnly).close()
            }
            let text = String(describing: error)
            #expect(error?.code == code, "\(text)", sourceLocation: sourceLocation)
            #expect(error?.message.contains(words) == true, "\(text)", sourceLocation: sourceLocation)
            #expect(error?.message.contains("data.mdb") == true, sourceLocation: sourceLocation)
        }
        #expect(try data(directory) == before, "a refused open changed data.mdb", sourceLocation: sourceLocation)
    }

    @Test func aTruncatedDataFileIsRefusedBeforeItIsMapped() throws {
        try withTemporaryDirectory { directory in
            let pageSize = try populate(directory.path)
            let whole = try data(directory.path)
            for length in [whole.count / 2 / pageSize * pageSize, 2 * pageSize, whole.count - 1] {
                try write(Array(whole.prefix(length)), directory.path)
                try expectRefused(directory.path, .corrupted, "cut short")
            }
        }
    }

    @Test func anEmptyDataFileIsRefusedAndNotMadeIntoANewEnvironment() throws {
        try withTemporaryDirectory { directory in
            try populate(directory.path)
            try write([], directory.path)
            try expectRefused(directory.path, .corrupted, "is empty")
            #expect(try fileSize(directory.appending("data.mdb")) == 0)
        }
    }

    @Test func aDamagedMetaPageIsRefusedNamingThePage() throws {
        try withTemporaryDirectory { directory in
            let pageSize = try populate(directory.path)
            let whole = try data(directory.path)
            func damaged(_ change: (inout [UInt8]) -> Void) throws {
                var copy = whole
                change(&copy)
                try write(copy, directory.path)
            }
            // Zeroed meta page 0, then meta page 1.
            for page in 0...1 {
                let range = page * pageSize..<(page + 1) * pageSize
                try damaged { $0.replaceSubrange(range, with: repeatElement(0, count: pageSize)) }
                try expectRefused(directory.path, .corrupted, "meta page \(page) is invalid")
            }
            // A transaction id of the wrong parity (LMDB would trust it as the newest).
            #expect(whole[pageSize + 144] > 1, "meta page 1 holds a later transaction than 1")
            try damaged { $0[pageSize + 144] ^= 0x01 }
            try expectRefused(directory.path, .corrupted, "which LMDB never writes to meta page 1")
            // The main tree's root past the last page.
            try damaged { $0[128 + 5] = 0x01 }
            try expectRefused(directory.path, .corrupted, "root page")
            // The last page far beyond the file.
            try damaged { $0[pageSize + 136 + 3] = 0x01 }
            try expectRefused(directory.path, .corrupted, "cut short")
        }
    }

    @Test func aFileWithoutLMDBsMagicIsNotAnEnvironment() throws {
        try withTemporaryDirectory { directory in
            try populate(directory.path)
            try write(Array(String(repeating: "not lmdb\n", count: 4_000).utf8), directory.path)
            try expectRefused(directory.path, .invalid, "not an LMDB environment")
        }
    }

    @Test func aDataFileThatIsAFIFOIsRefusedWithoutBlocking() throws {
        try withTemporaryDirectory { directory in
            #expect(mkfifo(directory.appending("data.mdb"), 0o600) == 0)
            let error = #expect(throws: LMDBError.self) { try open(directory.path).close() }
            #expect(error?.code == .invalid)
            #expect(error?.message.contains("not a regular file") == true)
        }
    }

    /// LMDB opens `lock.mdb` with `O_CREAT` and writes its header even on a
    /// read-only open: a symbolic link there would have it overwrite the
    /// link's target.
    @Test func aLockFileThatIsALinkADirectoryOrAFIFOIsRefusedAndNothingIsWritten() throws {
        try withTemporaryDirectory { directory in
            let store = try directory.makeDirectory("store")
            try populate(store)
            let lock = store + "/lock.mdb"
            let victim = directory.appending("victim")
            let precious = Data("not to be overwritten\n".utf8)
            try precious.write(to: URL(fileURLWithPath: victim))
            for make in ["symlink", "dangling symlink", "directory", "fifo"] {
                _ = unlink(lock)
                _ = rmdir(lock)
                switch make {
                case "symlink": #expect(symlink(victim, lock) == 0)
                case "dangling symlink": #expect(symlink(directory.appending("absent"), lock) == 0)
                case "directory": #expect(mkdir(lock, 0o700) == 0)
                default: #expect(mkfifo(lock, 0o600) == 0)
                }
                for readOnly in [true, false] {
                    let error = #expect(throws: LMDBError.self, "lock.mdb as a \(make)") {
                        try open(store, readOnly: readOnly).close()
                    }
                    #expect(error?.code == .invalid, "\(String(describing: error))")
                    #expect(error?.message.contains("lock.mdb") == true, "\(String(describing: error))")
                }
                #expect(try Data(contentsOf: URL(fileURLWithPath: victim)) == precious, "lock.mdb as a \(make)")
                #expect(!FileManager.default.fileExists(atPath: directory.appending("absent")))
            }
        }
    }

    /// LMDB opens `data.mdb` by its name (with `O_CREAT` on a writable
    /// open): a symbolic link there would have the open map, and a writer
    /// write, whatever file the link names, or create one where it points.
    @Test func aDataFileThatIsASymbolicLinkIsRefusedNamingItAndNothingIsWritten() throws {
        try withTemporaryDirectory { directory in
            let elsewhere = try directory.makeDirectory("elsewhere")
            try populate(elsewhere)
            let original = try data(elsewhere)
            let store = try directory.makeDirectory("store")
            for (make, target) in [
                ("symlink", elsewhere + "/data.mdb"), ("dangling symlink", directory.appending("absent")),
            ] {
                _ = unlink(store + "/data.mdb")
                #expect(symlink(target, store + "/data.mdb") == 0)
                for readOnly in [true, false] {
                    let error = #expect(throws: LMDBError.self, "data.mdb as a \(make)") {
                        try open(store, readOnly: readOnly).close()
                    }
                    #expect(error?.code == .invalid, "\(String(describing: error))")
                    #expect(
                        error?.message.contains(store + "/data.mdb is a symbolic link") == true,
                        "\(String(describing: error))")
                }
            }
            #expect(try data(elsewhere) == original)
            #expect(!FileManager.default.fileExists(atPath: directory.appending("absent")))
        }
    }

    @Test func healthyFilesOpenIncludingExtendedCompactedAndNew() throws {
        try withTemporaryDirectory { directory in
            let source = try directory.makeDirectory("source")
            try populate(source)
            // A file longer than its pages (as a writable map may leave it).
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: source + "/data.mdb"))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(repeating: 0xAB, count: 1 << 16))
            try handle.close()
            let env = try open(source)
            #expect(try env.read { txn in try txn.get(bytes("z"), in: try env.database("main")) } == bytes("last"))
            for (name, compact) in [("plain", false), ("compact", true)] {
                try env.copy(to: try directory.makeDirectory(name), compact: compact)
                try open(directory.appending(name)).close()
            }
            env.close()
            // A new environment: both meta pages at transaction 0.
            let fresh = try directory.makeDirectory("fresh")
            try open(fresh, readOnly: false).close()
            try open(fresh).close()
        }
    }

    @Test func aGarbageLockFileIsRebuiltAndTheDataFileIsNotTouched() throws {
        try withTemporaryDirectory { directory in
            try populate(directory.path)
            let before = try data(directory.path)
            var generator = SystemRandomNumberGenerator()
            for size in [8_192, 100, 0] {
                let garbage = (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
                try Data(garbage).write(to: URL(fileURLWithPath: directory.appending("lock.mdb")))
                let env = try open(directory.path)
                #expect(try env.read { txn in try txn.get(bytes("z"), in: try env.database("main")) } == bytes("last"))
                env.close()
            }
            #expect(try data(directory.path) == before)
        }
    }
}
