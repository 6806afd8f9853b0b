import Foundation

/// The package's executable `name` (`dsmr-node`, `dsmr-store`,
/// `chunkstore-crash-child`, `lmdb-reader-child`), built next to the test
/// bundle by `swift build --build-tests`. The environment variable
/// `override`, when given and set, names the executable instead.
public func builtExecutable(_ name: String, override: String? = nil) throws -> String {
    if let override, let path = ProcessInfo.processInfo.environment[override] { return path }
    var candidates: [String] = []
    if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
        candidates.append((exe as NSString).deletingLastPathComponent)
    }
    // On macOS the bundle's executable sits in <debug>/X.xctest/Contents/MacOS.
    var bundle = (CommandLine.arguments[0] as NSString).deletingLastPathComponent
    for _ in 0..<4 {
        candidates.append(bundle)
        bundle = (bundle as NSString).deletingLastPathComponent
    }
    for directory in candidates {
        let path = directory + "/" + name
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    throw TestFailure(
        "\(name) not found next to the test bundle (looked in \(candidates)); run `swift build --build-tests`")
}

/// What a finished tool run printed and how it ended.
public struct ToolRun: Sendable, CustomStringConvertible {
    /// The exit status (the signal number when it died of a signal, see
    /// ``signalled``).
    public var status: Int32
    /// Whether it died of a signal.
    public var signalled: Bool
    /// What it wrote to standard output.
    public var stdout: String
    /// What it wrote to standard error.
    public var stderr: String

    /// The status and both outputs, for failure messages.
    public var description: String {
        "status \(status)\(signalled ? " (signal)" : ""), stdout: \(stdout), stderr: \(stderr)"
    }
}

/// Runs `executable` with `arguments` to its end, its output in files (no
/// pipe can fill up); kills it and throws after `timeout`.
public func runTool(
    _ executable: String, _ arguments: [String], timeout: Duration = .seconds(60)
) async throws -> ToolRun {
    let scratch = try TemporaryDirectory("dsmr-run", in: "/tmp")
    defer { scratch.remove() }
    let outPath = scratch.appending("stdout")
    let errPath = scratch.appending("stderr")
    _ = FileManager.default.createFile(atPath: outPath, contents: nil)
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
    let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    defer {
        try? out.close()
        try? err.close()
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let deadline = ContinuousClock.now + timeout
    while process.isRunning {
        guard ContinuousClock.now < deadline else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw TestFailure("\(executable) \(arguments) did not end within \(timeout)")
        }
        try await Task.sleep(for: .milliseconds(20))
    }
    return ToolRun(
        status: process.terminationStatus, signalled: process.terminationReason == .uncaughtSignal,
        stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
}
