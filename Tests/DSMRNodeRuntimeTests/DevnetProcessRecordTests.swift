import DSMRDevnet
import DSMRTestSupport
import Foundation
import Testing

/// The devnet's record of the processes a run started is read back by the
/// next run, which signals what it names. Whatever the file says, only a
/// process whose pid, start time and command line (a path in the devnet's
/// directory) all match is stopped.
@Suite("The devnet's process record, forged")
struct DevnetProcessRecordTests {
    /// `tail -f path`: runs until signalled, with `path` on its command line.
    /// Started from a task, it inherits the worker thread's blocked signals
    /// (SIGTERM among them), so only SIGKILL (``end(_:)``) ends it for sure.
    static func follow(_ path: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/tail")
        process.arguments = ["-f", path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Ends `processes` that still run. `Process` reaps them itself; waiting
    /// here would hold a thread of the pool its reaping may need.
    static func end(_ processes: [Process]) {
        for process in processes where process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    static func startTime(_ process: Process) throws -> UInt64 {
        try #require(ProcessStat(pid: process.processIdentifier)).startTime
    }

    /// A devnet directory in `scratch`, holding an empty file `name` for
    /// processes to name on their command lines; returns both paths.
    static func devnetDirectory(in scratch: TemporaryDirectory, file name: String) throws -> (String, String) {
        let directory = scratch.path + "/devnet"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let file = directory + "/" + name
        #expect(FileManager.default.createFile(atPath: file, contents: Data()))
        return (directory, file)
    }

    @Test func aForgedRecordStopsOnlyTheProcessWhosePidStartTimeAndCommandLineAllMatch() async throws {
        let scratch = try scratchDirectory("forged")
        defer { scratch.remove() }
        let (directory, followed) = try Self.devnetDirectory(in: scratch, file: "node0.log")

        let outside = try Self.follow("/dev/null")
        let restarted = try Self.follow(followed)
        let leftover = try Self.follow(followed)
        defer { Self.end([outside, restarted, leftover]) }
        let own = try #require(ProcessStat(pid: getpid()))
        let lines = [
            // A devnet that no longer runs: its pid now belongs to another process.
            "devnet \(outside.processIdentifier) \(try Self.startTime(outside) + 1)",
            // Running, started when recorded, but nothing on its command line in the directory.
            "node0 \(outside.processIdentifier) \(try Self.startTime(outside))",
            "node1 \(getpid()) \(own.startTime)",
            // In the directory, but not started when recorded (a reused pid).
            "node2 \(restarted.processIdentifier) \(try Self.startTime(restarted) - 1)",
            // What a killed run truly left.
            "node3 \(leftover.processIdentifier) \(try Self.startTime(leftover))",
            // Lines that do not parse, or name no process.
            "node4 0 0", "node5 -1 \(own.startTime)", "node6 \(getpid())", "node7 x 1", "", "a b c d",
            "node8 \(Int32.max) 1", "node9 99999999999 1",
        ]
        try lines.joined(separator: "\n").write(
            toFile: DevnetProcessRecord.path(in: directory), atomically: true, encoding: .utf8)

        // SIGTERM is blocked in it (see `follow`): SIGKILL after the grace.
        let stopped = try await DevnetProcessRecord.stopLeftovers(in: directory, grace: .seconds(1))
        #expect(stopped == ["node3"])
        try await waitUntil("the leftover to end", timeout: .seconds(10), pollingEvery: .milliseconds(20)) {
            !leftover.isRunning
        }
        #expect(leftover.terminationReason == .uncaughtSignal)
        #expect(outside.isRunning, "a process outside the directory was signalled")
        #expect(restarted.isRunning, "a process started after the recorded time was signalled")
    }

    @Test func aRecordWhoseDevnetStillRunsIsRefusedAndNothingIsSignalled() async throws {
        let scratch = try scratchDirectory("forged-running")
        defer { scratch.remove() }
        let (directory, followed) = try Self.devnetDirectory(in: scratch, file: "etcd0.log")
        let devnet = try Self.follow("/dev/null")
        let member = try Self.follow(followed)
        defer { Self.end([devnet, member]) }
        try [
            "devnet \(devnet.processIdentifier) \(try Self.startTime(devnet))",
            "etcd0 \(member.processIdentifier) \(try Self.startTime(member))",
        ].joined(separator: "\n").write(
            toFile: DevnetProcessRecord.path(in: directory), atomically: true, encoding: .utf8)

        await #expect(throws: DevnetError.self) {
            _ = try await DevnetProcessRecord.stopLeftovers(in: directory, grace: .seconds(1))
        }
        #expect(member.isRunning, "a member of a devnet that still runs was signalled")
    }
}

@Suite("/proc/PID/stat")
struct ProcessStatTests {
    @Test func fieldsAreCountedFromTheLastParenthesisOfTheCommandName() throws {
        // Field 22 (the start time) is 7654321; the name holds spaces and parentheses.
        let fields = (5...21).map(String.init).joined(separator: " ")
        let text = "4242 (a (b) c) d) T 17 \(fields) 7654321 23 24\n"
        let stat = try #require(ProcessStat(parsing: text))
        #expect(stat.state == "T" && stat.isStopped && !stat.hasEnded)
        #expect(stat.parent == 17)
        #expect(stat.startTime == 7_654_321)
        #expect(ProcessStat(parsing: "4242 (zombie) Z 1 \(fields) 99 0")?.hasEnded == true)
    }

    @Test func aTruncatedOrMalformedStatDoesNotParse() {
        let fields = (5...21).map(String.init).joined(separator: " ")
        #expect(ProcessStat(parsing: "") == nil)
        #expect(ProcessStat(parsing: "4242 no parenthesis S 1 \(fields) 99") == nil)
        #expect(ProcessStat(parsing: "4242 (short) S 1 2 3") == nil)
        #expect(ProcessStat(parsing: "4242 (state) SS 1 \(fields) 99") == nil)
        #expect(ProcessStat(parsing: "4242 (parent) S x \(fields) 99") == nil)
        #expect(ProcessStat(parsing: "4242 (start) S 1 \(fields) -99") == nil)
        #expect(ProcessStat(pid: 0) == nil && ProcessStat(pid: -1) == nil)
    }

    @Test func aLiveProcessAndAStoppedOne() async throws {
        let own = try #require(ProcessStat(pid: getpid()))
        #expect(own.parent == getppid() && own.startTime > 0 && !own.isStopped && !own.hasEnded)

        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/sleep")
        child.arguments = ["60"]
        try child.run()
        defer { DevnetProcessRecordTests.end([child]) }
        kill(child.processIdentifier, SIGSTOP)
        try await waitUntil("the child to stop", timeout: .seconds(10), pollingEvery: .milliseconds(10)) {
            ProcessStat(pid: child.processIdentifier)?.isStopped == true
        }
        #expect(ProcessStat(pid: child.processIdentifier)?.parent == getpid())
        kill(child.processIdentifier, SIGCONT)
    }
}
