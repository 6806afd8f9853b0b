import Foundation
import SystemC

/// A child process other than a validator (an etcd member), its output appended to a log file.
package final class ChildProcess: @unchecked Sendable {
    // `Process` is not Sendable; this class only reads it after `run()` and
    // signals it by pid, which `Process` allows from any thread.
    private let process: Process
    private let log: FileHandle

    /// Starts `executable` with `arguments`, appending its output to `logPath`.
    package init(executable: String, arguments: [String], logPath: String) throws {
        if !FileManager.default.fileExists(atPath: logPath) {
            _ = FileManager.default.createFile(atPath: logPath, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// The child's process id.
    package var processID: Int32 { process.processIdentifier }
    /// Whether the child still runs.
    package var isRunning: Bool { process.isRunning }

    /// Sends `signal` to the child while it runs.
    package func signal(_ number: Int32) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, number)
    }

    /// Sends SIGTERM, waits up to `grace`, then SIGKILLs the child and waits for it.
    package func stop(grace: Duration) async {
        signal(SIGTERM)
        let deadline = ContinuousClock.now + grace
        while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        signal(SIGKILL)
        await wait()
        try? log.close()
    }

    /// Waits for the child to end.
    package func wait() async {
        while process.isRunning { try? await Task.sleep(for: .milliseconds(10)) }
    }
}
