import ChunkStore
import StoreMaintenance
import Foundation

/// Runs each command that reads a store in a child process, so that damage
/// LMDB cannot report as an error (an assertion on a damaged page, a fault
/// in the map) takes down the child and not the tool.
///
/// The tool re-executes itself with the same arguments and a marker in the
/// environment naming a shared trace file (`StoreReadTrace`), where the child
/// records every table and key it reads. The parent relays the child's
/// output (with `--json`, only once the child has finished) and its exit
/// status. A child that dies by a signal is reported as damage (exit 2) with
/// the table and key it had reached; a child that makes no progress (no read,
/// no write) for `DSMR_STORE_WATCHDOG_SECONDS` (default 60) is killed and
/// reported as hung, also as damage.
enum IsolatedRun {
    /// The environment variable that marks the child; its value is the trace
    /// file's descriptor.
    static let marker = "DSMR_STORE_CHILD_TRACE_FD"
    /// The environment variable that sets the watchdog, in seconds.
    static let watchdogVariable = "DSMR_STORE_WATCHDOG_SECONDS"
    /// The commands that open a store.
    static let commands: Set<String> = [
        "stats", "ls", "show", "check", "gc", "compact", "recover", "evidence", "export-signing-history",
        "import-signing-history", "dump", "replay",
    ]

    /// The watchdog's period, in seconds.
    static var watchdogSeconds: Double {
        ProcessInfo.processInfo.environment[watchdogVariable].flatMap(Double.init).map { max($0, 0.1) } ?? 60
    }

    /// Whether the command is `recover -o`: salvage reads in children of its
    /// own (`read-table`, each watched) and never maps the source, so it is
    /// not run in another.
    static func salvages(_ arguments: [String]) -> Bool {
        arguments.first == "recover"
            && arguments.contains { $0 == "-o" || $0 == "--output" || $0.hasPrefix("--output=") || $0.hasPrefix("-o") }
    }

    /// In the child, installs the read trace and returns nil: the command
    /// runs here. In the tool started by a user for a command that opens a
    /// store, runs that command in a child and returns the exit status to end
    /// with. Otherwise (help, `load`) returns nil.
    static func superviseIfNeeded() -> Int32? {
        let environment = ProcessInfo.processInfo.environment
        if let descriptor = environment[marker].flatMap(Int32.init) {
            // Without a trace the child still runs; its parent then reports
            // a death without a position.
            try? StoreReadTrace.install(fileDescriptor: descriptor)
            return nil
        }
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let command = arguments.first, commands.contains(command),
            !arguments.contains("--help"), !arguments.contains("-h"), !salvages(arguments)
        else { return nil }
        let watchdog = watchdogSeconds
        do {
            return try Supervisor(command: command, arguments: arguments, watchdog: watchdog).run()
        } catch {
            let failure = ToolFailure(outcome: "unreadable", message: "cannot start the reading process: \(error)")
            failure.print(json: ToolFailure.jsonRequested)
            return failure.status
        }
    }
}

/// The parent's side: spawns the child, relays its output, watches it.
private struct Supervisor {
    let command: String
    let arguments: [String]
    let watchdog: Double
    let json: Bool

    init(command: String, arguments: [String], watchdog: Double) {
        self.command = command
        self.arguments = arguments
        self.watchdog = watchdog
        self.json = arguments.contains("--json")
    }

    func run() throws -> Int32 {
        let trace = try Self.traceFile()
        defer { close(trace) }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw SupervisorError("pipe: \(String(cString: strerror(errno)))") }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        let pid: pid_t
        do {
            pid = try spawn(stdout: fds[1], trace: trace)
        } catch {
            close(fds[0])
            close(fds[1])
            throw error
        }
        close(fds[1])
        defer { close(fds[0]) }
        let outcome = watch(pid, output: fds[0], trace: trace)
        switch outcome.end {
        case .exited(let status):
            if json { writeOut(outcome.output) }
            return status
        case .signalled(let signal):
            let name = String(cString: strsignal(signal))
            return report(
                damage: "`\(command)` was killed by signal \(signal) (\(name))", signal: signal, hung: false,
                trace: trace)
        case .hung:
            return report(
                damage: "`\(command)` made no progress for \(watchdog) s and was stopped", signal: nil, hung: true,
                trace: trace)
        }
    }

    private func report(damage: String, signal: Int32?, hung: Bool, trace: Int32) -> Int32 {
        let position = StoreReadTrace.read(fileDescriptor: trace)
        let key = position.map { $0.key.map { String(format: "%02x", $0) }.joined() }
        var place = " before it read any table"
        if let position, let key {
            let table = "table '\(position.table)'"
            let spot =
                key.isEmpty
                ? "at the start of \(table)"
                : position.lookingUp ? "looking up key \(key) in \(table)" : "in \(table) after key \(key)"
            place = " while reading \(spot) (after \(position.reads) reads)"
        }
        let failure = ToolFailure(
            outcome: "damaged",
            message: "the store is damaged: \(damage)\(place). LMDB faults or asserts on some damaged pages; "
                + "an unfinished write of this command was not committed.",
            signal: signal, table: position?.table, key: key, lookingUp: position?.lookingUp,
            reads: position?.reads, hung: hung)
        failure.print(json: json)
        return failure.status
    }

    private enum End {
        case exited(Int32)
        case signalled(Int32)
        case hung
    }

    /// Relays output until the child ends, killing it when it makes no
    /// progress for `watchdog` seconds.
    private func watch(_ pid: pid_t, output: Int32, trace: Int32) -> (end: End, output: [UInt8]) {
        var buffered: [UInt8] = []
        var open = true
        var lastSteps: UInt64 = 0
        var lastWritten: UInt64? = nil
        var lastProgress = Date()
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        func drain() {
            while open {
                var poller = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
                guard poll(&poller, 1, 0) > 0 else { return }
                let count = read(output, &chunk, chunk.count)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 {
                    open = false
                    return
                }
                if json { buffered.append(contentsOf: chunk[..<count]) } else { writeOut(chunk[..<count]) }
            }
        }
        while true {
            // Output or its end wakes the wait at once; once the output has
            // ended, the child is exiting and is looked for more often.
            var poller = pollfd(fd: open ? output : -1, events: Int16(POLLIN), revents: 0)
            _ = poll(&poller, 1, open ? 100 : 5)
            drain()
            var status: Int32 = 0
            let waited = waitpid(pid, &status, WNOHANG)
            if waited == pid {
                drain()
                let signal = status & 0x7f
                if signal == 0 { return (.exited((status >> 8) & 0xff), buffered) }
                return (.signalled(signal), buffered)
            }
            let steps = StoreReadTrace.read(fileDescriptor: trace)?.reads ?? 0
            let written = Self.bytesWritten(pid)
            if steps != lastSteps || written != lastWritten {
                lastSteps = steps
                lastWritten = written
                lastProgress = Date()
            } else if Date().timeIntervalSince(lastProgress) > watchdog {
                kill(pid, SIGKILL)
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                return (.hung, buffered)
            }
        }
    }

    private func writeOut(_ bytes: some Collection<UInt8>) {
        var remaining = Array(bytes)[...]
        while !remaining.isEmpty {
            let count = remaining.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { return }
            remaining = remaining.dropFirst(count)
        }
    }

    /// Starts this executable again with the same arguments, standard output
    /// on `stdout`, standard error shared, and the trace's descriptor named
    /// in the environment.
    private func spawn(stdout: Int32, trace: Int32) throws -> pid_t {
        let executable =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? Bundle.main.executablePath ?? CommandLine.arguments[0]
        #if canImport(Glibc)
        var actions = posix_spawn_file_actions_t()
        #else
        var actions: posix_spawn_file_actions_t?
        #endif
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdout, STDOUT_FILENO)
        posix_spawn_file_actions_addclose(&actions, stdout)
        var environment = ProcessInfo.processInfo.environment
        environment[IsolatedRun.marker] = String(trace)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        guard rc == 0 else { throw SupervisorError("posix_spawn \(executable): \(String(cString: strerror(rc)))") }
        return pid
    }

    /// An unlinked temporary file of `StoreReadTrace.fileSize` zero bytes, open
    /// for the child to inherit.
    private static func traceFile() throws -> Int32 {
        var template = Array((NSTemporaryDirectory() + "/dsmr-store-trace-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw SupervisorError("cannot make a trace file: \(String(cString: strerror(errno)))") }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        guard ftruncate(fd, off_t(StoreReadTrace.fileSize)) == 0 else {
            close(fd)
            throw SupervisorError("cannot size the trace file: \(String(cString: strerror(errno)))")
        }
        return fd
    }

    /// The bytes the child has written so far (Linux: `/proc/<pid>/io`), so
    /// that a long copy without cursor reads still counts as progress.
    private static func bytesWritten(_ pid: pid_t) -> UInt64? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/io", encoding: .utf8) else { return nil }
        let line = text.split(separator: "\n").first { $0.hasPrefix("wchar:") }
        return line.flatMap { UInt64($0.dropFirst(6).trimmingCharacters(in: .whitespaces)) }
    }
}

private struct SupervisorError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
