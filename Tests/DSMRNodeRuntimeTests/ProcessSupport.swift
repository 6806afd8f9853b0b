import DSMRDevnet
import DSMRNodeRuntime
import Foundation
import Testing

/// The package's executable `name` (`dsmr-node`, `dsmr-store`), built next
/// to the test bundle by `swift build --build-tests`.
func builtExecutable(_ name: String) throws -> String {
    var candidates: [String] = []
    if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
        candidates.append((exe as NSString).deletingLastPathComponent)
    }
    var bundle = (CommandLine.arguments[0] as NSString).deletingLastPathComponent
    for _ in 0..<4 {
        candidates.append(bundle)
        bundle = (bundle as NSString).deletingLastPathComponent
    }
    for directory in candidates {
        let path = directory + "/" + name
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    throw ProcessTestError(
        "\(name) not found next to the test bundle (looked in \(candidates)); run `swift build --build-tests`")
}

/// A test's failure to reach a state or run a tool.
struct ProcessTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A fresh directory under /tmp with a short path (control socket paths
/// must stay under 104 bytes), removed by ``remove()``.
struct ScratchDirectory {
    let path: String

    init(_ tag: String) throws {
        var template = Array("/tmp/dsmr-\(tag)-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw ProcessTestError("mkdtemp: \(String(cString: strerror(errno)))")
        }
        path = String(cString: made)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// What a finished tool run printed and how it ended.
struct ToolRun: CustomStringConvertible {
    /// The exit status (the signal number when it died of a signal, see `signalled`).
    var status: Int32
    /// Whether it died of a signal.
    var signalled: Bool
    var stdout: String
    var stderr: String

    var description: String { "status \(status)\(signalled ? " (signal)" : ""), stdout: \(stdout), stderr: \(stderr)" }
}

/// Runs `executable` with `arguments` to its end, its output in files
/// (no pipe can fill up); kills it and throws after `timeout`.
func runTool(_ executable: String, _ arguments: [String], timeout: Duration = .seconds(60)) async throws -> ToolRun {
    let scratch = try ScratchDirectory("run")
    defer { scratch.remove() }
    let outPath = scratch.path + "/stdout"
    let errPath = scratch.path + "/stderr"
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
            throw ProcessTestError("\(executable) \(arguments) did not end within \(timeout)")
        }
        try await Task.sleep(for: .milliseconds(20))
    }
    return ToolRun(
        status: process.terminationStatus, signalled: process.terminationReason == .uncaughtSignal,
        stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
}

/// Polls `condition` every 50 ms until it holds; after `timeout` throws
/// naming `what`, with `diagnosis` (evaluated then) appended.
func waitUntil(
    _ what: @autoclosure () -> String, timeout: Duration = .seconds(30),
    diagnosis: () async -> String = { "" }, _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else {
            throw ProcessTestError("timed out after \(timeout): \(what())\n\(await diagnosis())")
        }
        try await Task.sleep(for: .milliseconds(50))
    }
}

/// Asks the node listening on the control socket at `path` for `request`;
/// nil when it does not answer (not running, or stopping).
func ask(_ path: String, _ request: ControlRequest) async -> ControlResponse? {
    guard let client = try? await ControlClient.connect(path: path) else { return nil }
    let response = try? await client.send(request)
    await client.close()
    return response
}

/// The status of the node on the control socket at `path`, nil when it does not answer.
func nodeStatus(_ path: String) async -> NodeStatus? {
    guard case .status(let status)? = await ask(path, .status) else { return nil }
    return status
}

/// The statuses of validators `indices` of `layout`; throws when one does not answer.
func statuses(_ layout: DevnetLayout, _ indices: some Sequence<Int>) async throws -> [Int: NodeStatus] {
    var result: [Int: NodeStatus] = [:]
    for index in indices {
        guard let status = await nodeStatus(layout.controlSocket(index)) else {
            throw ProcessTestError("validator \(index) does not answer its control socket")
        }
        result[index] = status
    }
    return result
}

/// Options for a short devnet under `directory` running the built `dsmr-node`.
func devnetOptions(
    _ directory: String, validators: Int = 4, load: Duration?, rate: Int = 200
) throws
    -> DevnetOptions
{
    var options = DevnetOptions(directory: directory + "/devnet", executable: try builtExecutable("dsmr-node"))
    options.validators = validators
    options.duration = load
    options.transactionRate = rate
    options.statusInterval = .milliseconds(500)
    options.drainTimeout = .seconds(20)
    return options
}

/// Runs `body` on a started devnet; stops its validators however `body` ends.
func withDevnet<T>(_ options: DevnetOptions, _ body: (Devnet) async throws -> T) async throws -> T {
    let devnet = try Devnet(options)
    do {
        try await devnet.start()
        let result = try await body(devnet)
        await devnet.stopNodes()
        return result
    } catch {
        await devnet.stopNodes()
        let logs = (0..<options.validators).map { "node\($0).log:\n\(logTail(devnet.layout, $0, lines: 8))" }
        throw ProcessTestError("\(error)\n\(logs.joined(separator: "\n"))")
    }
}

/// The tail of validator `index`'s log, for failure messages.
func logTail(_ layout: DevnetLayout, _ index: Int, lines: Int = 20) -> String {
    let text = (try? String(contentsOfFile: layout.logPath(index), encoding: .utf8)) ?? ""
    return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
}
