import DSMRTestSupport
import Foundation
import LMDB
import Synchronization
import Testing

/// Opens `options` and returns the error it throws (recording an issue if it
/// opens).
private func openError(_ options: EnvironmentOptions) -> LMDBError? {
    #expect(throws: LMDBError.self) {
        let env = try Environment(options)
        env.close()
    }
}

private func options(_ path: String, databases: [String] = ["main"]) -> EnvironmentOptions {
    var options = EnvironmentOptions(path: path)
    options.databases = databases
    return options
}

@Suite("Opening and misuse errors")
struct OpenErrorTests {
    @Test func openingTheSameDirectoryTwiceIsRefusedByAnyPath() throws {
        try withTemporaryDirectory { directory in
            let env = try Environment(options(directory.path))
            // The same path, with a trailing slash.
            let again = openError(options(directory.path + "/"))
            #expect(again?.code == .alreadyOpen)
            #expect(again?.message.contains("already open") == true)
            // Through a symbolic link.
            let link = directory.path + ".link"
            #expect(symlink(directory.path, link) == 0)
            defer { unlink(link) }
            #expect(openError(options(link))?.code == .alreadyOpen)
            // Through a relative path from the working directory.
            let depth = FileManager.default.currentDirectoryPath.split(separator: "/").count
            let relative = String(repeating: "../", count: depth) + directory.path.dropFirst()
            #expect(openError(options(relative))?.code == .alreadyOpen)
            // The refusals did not disturb the open environment.
            let db = try env.database("main")
            try env.write { txn in try txn.put(bytes("v"), forKey: bytes("k"), in: db) }
            env.close()
            // Once closed, it opens again.
            let reopened = try Environment(options(link))
            #expect(try reopened.read { try $0.get(bytes("k"), in: reopened.database("main")) } == bytes("v"))
            reopened.close()
        }
    }

    @Test func missingDirectoryGetsNoSuchFileSayingToCreateIt() throws {
        try withTemporaryDirectory { directory in
            let error = openError(options(directory.appending("absent")))
            #expect(error?.code == .noSuchFile)
            #expect(error?.message.contains("create it") == true)
            #expect(error?.path == directory.appending("absent"))
            #expect(error.map { "\($0)" }?.contains(directory.appending("absent")) == true)
        }
    }

    /// A directory the user may not write to. Tests run as root in CI, and
    /// root bypasses permission checks, so as root the open runs on a thread
    /// whose filesystem user id is dropped to `nobody` with `setfsuid(2)`
    /// (per thread on Linux; it also drops the capabilities that bypass
    /// permission checks). Elsewhere the case runs only when not root.
    @Test func directoryWithoutPermissionGetsPermissionDenied() throws {
        try withTemporaryDirectory { directory in
            #expect(chmod(directory.path, 0o755) == 0)
            let locked = try directory.makeDirectory("locked", mode: 0o555)
            #expect(chmod(locked, 0o555) == 0)
            if geteuid() != 0 {
                let error = openError(options(locked))
                #expect(error?.code == .permissionDenied)
                return
            }
            #if os(Linux)
            typealias SetFSUID = @convention(c) (UInt32) -> Int32
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setfsuid") else {
                Issue.record("setfsuid not found")
                return
            }
            let setfsuid = unsafeBitCast(symbol, to: SetFSUID.self)
            let result = Mutex<(LMDBError?, opened: Bool)>((nil, false))
            let finished = runOnThreads(1) { _ in
                _ = setfsuid(65_534)
                defer { _ = setfsuid(0) }
                do {
                    let env = try Environment(options(locked))
                    env.close()
                    result.withLock { $0.opened = true }
                } catch let error as LMDBError {
                    result.withLock { $0.0 = error }
                } catch {}
            }
            #expect(finished)
            let (error, opened) = result.withLock { $0 }
            #expect(!opened)
            #expect(error?.code == .permissionDenied)
            #expect(error?.operation == "mdb_env_open")
            #expect(error?.message.contains("ermission denied") == true)
            // The failed open released the directory: root opens it.
            let env = try Environment(options(locked))
            env.close()
            #endif
        }
    }

    @Test func aWritableOpenWithoutCreatingDatabasesRefusesAMissingOne() throws {
        try withTemporaryDirectory { directory in
            try Environment(options(directory.path, databases: ["a"])).close()
            var withoutCreating = options(directory.path, databases: ["a", "b"])
            withoutCreating.createDatabases = false
            let error = openError(withoutCreating)
            #expect(error?.code == .unknownDatabase)
            #expect(error?.database == "b")
            #expect(error?.message.contains("was not to be created") == true)
            // Nothing was created: "b" is still missing for a read-only open.
            var readOnly = options(directory.path, databases: ["b"])
            readOnly.readOnly = true
            #expect(openError(readOnly)?.code == .unknownDatabase)
        }
    }

    @Test func fileThatIsNotAnLMDBEnvironmentGetsInvalid() throws {
        try withTemporaryDirectory { directory in
            var generator = SystemRandomNumberGenerator()
            let garbage = (0..<16_384).map { _ in UInt8.random(in: 0...255, using: &generator) }
            #expect(FileManager.default.createFile(atPath: directory.appending("data.mdb"), contents: Data(garbage)))
            let error = openError(options(directory.path))
            #expect(error?.code == .invalid)
            #expect(error?.message.contains("not an LMDB environment") == true)
            // The failed open closed its handle and released the path: the
            // same error again, not alreadyOpen.
            #expect(openError(options(directory.path))?.code == .invalid)
            // A short file of text is refused the same way.
            #expect(
                FileManager.default.createFile(atPath: directory.appending("data.mdb"), contents: Data("hello".utf8)))
            #expect(openError(options(directory.path))?.code == .invalid)
        }
    }

    @Test func pathThatIsARegularFileGetsNotADirectory() throws {
        try withTemporaryDirectory { directory in
            let file = directory.appending("file")
            #expect(FileManager.default.createFile(atPath: file, contents: Data("x".utf8)))
            let error = openError(options(file))
            #expect(error?.code == .notADirectory)
            #expect(error?.message.contains("not a directory") == true)
        }
    }

    @Test func keyLongerThanTheMaximumOrEmptyGetsBadValueSize() throws {
        try withEnvironment { env, db, _ in
            #expect(env.maxKeySize == 511)
            let longest = [UInt8](repeating: 0x41, count: env.maxKeySize)
            try env.write { txn in try txn.put(bytes("fits"), forKey: longest, in: db) }
            #expect(try env.read { try $0.get(longest, in: db) } == bytes("fits"))

            let tooLong = longest + [0x41]
            let error = #expect(throws: LMDBError.self) {
                try env.write { txn in try txn.put(bytes("v"), forKey: tooLong, in: db) }
            }
            #expect(error?.code == .badValueSize)
            #expect(error?.operation == "mdb_put")
            #expect(error?.database == "main")
            expectError(.badValueSize) {
                try env.write { txn in
                    try txn.put(reserving: 10, forKey: tooLong, in: db) {
                        $0.initializeMemory(as: UInt8.self, repeating: 0)
                    }
                }
            }
            // No such key can be stored, so none is found.
            #expect(try env.read { try $0.get(tooLong, in: db) } == nil)

            let empty: [UInt8] = []
            expectError(.badValueSize) {
                try env.write { txn in try txn.put(bytes("v"), forKey: empty, in: db) }
            }
            expectError(.badValueSize) { _ = try env.read { try $0.get(empty, in: db) } }
            expectError(.badValueSize) { _ = try env.write { try $0.delete(empty, in: db) } }
            #expect(try env.read { try $0.count(of: db) } == 1)
        }
    }

    @Test func operationsAfterCloseThrowClosed() throws {
        try withTemporaryDirectory { directory in
            let env = try Environment(options(directory.path))
            let db = try env.database("main")
            try env.write { txn in try txn.put(bytes("v"), forKey: bytes("k"), in: db) }
            env.close()
            env.close()  // Harmless.
            let target = try directory.makeDirectory("copy")
            let attempts: [(String, () throws -> Void)] = [
                ("read", { _ = try env.read { try $0.get(bytes("k"), in: db) } }),
                ("write", { try env.write { try $0.put(bytes("v"), forKey: bytes("k"), in: db) } }),
                ("info", { _ = try env.info() }),
                ("statistics", { _ = try env.statistics(of: db) }),
                ("sync", { try env.sync() }),
                ("copy", { try env.copy(to: target) }),
                ("clearStaleReaders", { try env.clearStaleReaders() }),
            ]
            for (name, attempt) in attempts {
                let error = #expect(throws: LMDBError.self, "\(name)") { try attempt() }
                #expect(error?.code == .closed, "\(name)")
            }
        }
    }

    @Test func readOnlyEnvironmentReadsButRefusesWrites() throws {
        try withTemporaryDirectory { directory in
            do {
                let env = try Environment(options(directory.path))
                try env.write { try $0.put(bytes("v"), forKey: bytes("k"), in: env.database("main")) }
                env.close()
            }
            var readOnly = options(directory.path)
            readOnly.readOnly = true
            let env = try Environment(readOnly)
            defer { env.close() }
            let db = try env.database("main")
            #expect(try env.read { try $0.get(bytes("k"), in: db) } == bytes("v"))
            let error = #expect(throws: LMDBError.self) {
                try env.write { try $0.put(bytes("w"), forKey: bytes("k"), in: db) }
            }
            #expect(error?.code == .readOnly)
            #expect(try env.read { try $0.get(bytes("k"), in: db) } == bytes("v"))
        }
    }

    @Test func undeclaredOrMissingDatabaseGetsUnknownDatabase() throws {
        try withTemporaryDirectory { directory in
            do {
                let env = try Environment(options(directory.path))
                let error = #expect(throws: LMDBError.self) { try env.database("undeclared") }
                #expect(error?.code == .unknownDatabase)
                #expect(error?.database == "undeclared")
                env.close()
            }
            // Read-only, a declared database that was never created.
            var readOnly = options(directory.path, databases: ["main", "never created"])
            readOnly.readOnly = true
            let error = openError(readOnly)
            #expect(error?.code == .unknownDatabase)
            #expect(error?.database == "never created")
        }
    }

    @Test func optionsOutOfRangeGetInvalidOption() throws {
        try withTemporaryDirectory { directory in
            var zeroMap = options(directory.path)
            zeroMap.mapSize = 0
            #expect(openError(zeroMap)?.code == .invalidOption)
            var lowCeiling = options(directory.path)
            lowCeiling.maxMapSize = lowCeiling.mapSize - 1
            #expect(openError(lowCeiling)?.message.contains("maxMapSize") == true)
            #expect(openError(options(directory.path, databases: ["a", "a"]))?.code == .invalidOption)
            #expect(openError(options(directory.path, databases: [""]))?.code == .invalidOption)
            var tooMany = options(directory.path, databases: ["a", "b", "c"])
            tooMany.maxDatabases = 2
            #expect(openError(tooMany)?.code == .invalidOption)
            // None of them left the directory claimed.
            try Environment(options(directory.path)).close()
        }
    }
}
