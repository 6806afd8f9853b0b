import DSMRNodeRuntime
import Foundation
import SystemC

/// A `dsmr-node run` child process, its output appended to a log file.
package final class NodeProcess: @unchecked Sendable {
    /// The validator's index in the devnet.
    package let index: Int
    private let process: Process
    private let log: FileHandle

    /// Starts `executable run --config configuration`, appending its
    /// standard output and error to `logPath`; with `placement`, through its
    /// command prefix (`ip netns exec HOST`, which execs the node: the
    /// child's pid is the node's, and signals reach it).
    package init(
        index: Int, executable: String, configuration: String, logPath: String, environment: [String: String] = [:],
        placement: HostPlacement? = nil
    ) throws {
        self.index = index
        if !FileManager.default.fileExists(atPath: logPath) {
            _ = FileManager.default.createFile(atPath: logPath, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        process = Process()
        let command = (placement ?? HostPlacement(address: "")).command(
            executable, ["run", "--config", configuration, "--exit-with-parent"])
        process.executableURL = URL(fileURLWithPath: command.executable)
        process.arguments = command.arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, added in added }
        }
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// The child's process id.
    package var processID: Int32 { process.processIdentifier }
    /// Whether the child still runs.
    package var isRunning: Bool { process.isRunning }
    /// Whether the child is stopped (SIGSTOP, or a debugger): the state
    /// field of `/proc/PID/stat`. A stopped process keeps its sockets open
    /// and answers nothing until it is continued.
    package var isStopped: Bool {
        guard process.isRunning else { return false }
        return ProcessStat(pid: process.processIdentifier)?.isStopped == true
    }
    /// How the child ended ("exit status 1", "killed by signal 9"); nil while it runs.
    package var ending: String? {
        guard !process.isRunning else { return nil }
        return process.terminationReason == .uncaughtSignal
            ? "killed by signal \(process.terminationStatus)" : "exit status \(process.terminationStatus)"
    }
    /// The child's exit status once it has ended.
    package var exitStatus: Int32? { process.isRunning ? nil : process.terminationStatus }

    /// Sends `signal` to the child.
    package func signal(_ number: Int32) {
        // Once reaped, the pid may belong to another process.
        guard process.isRunning else { return }
        kill(process.processIdentifier, number)
    }

    /// Sends SIGTERM, waits up to `grace` for the child to end, then SIGKILLs it.
    package func stop(grace: Duration = .seconds(10)) async {
        guard process.isRunning else { return }
        signal(SIGTERM)
        let deadline = ContinuousClock.now + grace
        while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { signal(SIGKILL) }
        while process.isRunning { try? await Task.sleep(for: .milliseconds(5)) }
        try? log.close()
    }

    /// Waits for the child to end.
    package func wait() async {
        while process.isRunning { try? await Task.sleep(for: .milliseconds(10)) }
    }
}

/// The peak resident memory (`VmHWM` in /proc/PID/status) of process `pid`, nil when it cannot be read.
package func peakResidentBytes(of pid: Int32) -> UInt64? {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 2, let kilobytes = UInt64(fields[1]) else { return nil }
        return kilobytes * 1_024
    }
    return nil
}
