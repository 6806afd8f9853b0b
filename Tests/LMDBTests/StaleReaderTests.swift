import DSMRTestSupport
import Foundation
import LMDB
import Testing

private func sendSIGKILL(to pid: pid_t) {
    _ = kill(pid, SIGKILL)
}

/// A running `lmdb-reader-child` that holds a read transaction on an
/// environment.
struct ReaderChild {
    let process: Process

    /// Starts the child on `path` and waits until it says "ready".
    init(environment path: String) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: try builtExecutable("lmdb-reader-child"))
        process.arguments = [path]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        var said = Data()
        while !said.contains(Data("ready\n".utf8)) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty {
                process.waitUntilExit()
                let reason = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                Issue.record("lmdb-reader-child exited (\(process.terminationStatus)) before ready: \(reason)")
                throw POSIXError(.ECHILD)
            }
            said.append(chunk)
        }
    }

    /// Kills the child with SIGKILL and reaps it.
    func kill() {
        guard process.isRunning else { return }
        sendSIGKILL(to: process.processIdentifier)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
        #expect(process.terminationStatus == SIGKILL)
    }
}

@Suite("Stale readers")
struct StaleReaderTests {
    /// Two children hold read transactions; the first is killed with
    /// SIGKILL. Opening the environment then clears its slot and reports 1.
    /// The second child keeps the environment in use meanwhile: when no
    /// process has it open, the first opener resets the whole reader table
    /// and there is nothing stale left to count. Killing the second child
    /// while this process has the environment open leaves a slot that
    /// `clearStaleReaders()` clears.
    @Test func readerSlotOfAKilledChildIsClearedAtTheNextOpenAndByClearStaleReaders() throws {
        try withTemporaryDirectory { directory in
            var options = EnvironmentOptions(path: directory.path)
            options.databases = ["main"]
            do {
                let env = try Environment(options)
                try env.write { try $0.put(bytes("v"), forKey: bytes("k"), in: env.database("main")) }
                env.close()
            }
            let doomed = try ReaderChild(environment: directory.path)
            let survivor = try ReaderChild(environment: directory.path)
            defer { survivor.kill() }
            doomed.kill()

            let env = try Environment(options)
            defer { env.close() }
            #expect(env.staleReadersCleared == 1)
            #expect(try env.clearStaleReaders() == 0)
            #expect(try env.read { try $0.get(bytes("k"), in: env.database("main")) } == bytes("v"))

            // The survivor's slot is live: nothing to clear until it dies.
            #expect(try env.clearStaleReaders() == 0)
            survivor.kill()
            #expect(try env.clearStaleReaders() == 1)
            #expect(try env.clearStaleReaders() == 0)
            try env.write { try $0.put(bytes("w"), forKey: bytes("k"), in: env.database("main")) }
        }
    }
}

@Suite("Stale readers cleared by the writer")
struct PeriodicStaleReaderTests {
    /// A child holding a read is killed while this process keeps writing:
    /// a later commit clears its slot, without reopening.
    @Test func writerClearsAKilledReadersSlotWithoutReopening() throws {
        try withTemporaryDirectory { directory in
            var options = EnvironmentOptions(path: directory.path)
            options.databases = ["main"]
            options.durability = .noSync
            options.staleReaderCheckInterval = .milliseconds(50)
            let env = try Environment(options)
            defer { env.close() }
            let db = try env.database("main")
            try env.write { try $0.put(bytes("v"), forKey: bytes("k"), in: db) }

            let child = try ReaderChild(environment: directory.path)
            let pid = child.process.processIdentifier
            #expect(try env.readers().contains { $0.processID == pid && $0.transactionID != nil })
            child.kill()
            var written: UInt64 = 0
            let cleared = try eventuallyBlocking(within: .seconds(10)) {
                try env.write { try $0.put(bigEndianKey(written), forKey: bigEndianKey(written), in: db) }
                written += 1
                return try !env.readers().contains { $0.processID == pid }
            }
            #expect(cleared, "the killed reader's slot is still in the table after \(written) commits")
            #expect(env.staleReadersCleared == 0)
            #expect(env.staleReadersClearedSinceOpen == 1)
        }
    }
}
