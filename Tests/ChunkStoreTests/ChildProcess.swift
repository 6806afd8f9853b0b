import DSMRTestSupport
import Foundation

/// The `chunkstore-crash-child` executable, built next to the test bundle.
/// `DSMR_CRASH_CHILD` overrides where it is looked for.
func crashChildPath() throws -> String {
    try builtExecutable("chunkstore-crash-child", override: "DSMR_CRASH_CHILD")
}

/// A child process whose stdout is a pipe read line by line.
final class ChildProcess {
    let pid: pid_t
    private let output: Int32
    private var buffer: [UInt8] = []
    private var finished = false

    /// Starts `path` with `arguments` (posix_spawn), stdout on a pipe,
    /// stderr inherited.
    init(_ path: String, _ arguments: [String]) throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw TestFailure("pipe: \(String(cString: strerror(errno)))") }
        // Neither end may leak into other children (tests spawn in parallel);
        // the child's stdout is a dup2 copy, which does not inherit the flag.
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        #if canImport(Glibc)
        var actions = posix_spawn_file_actions_t()
        #else
        var actions: posix_spawn_file_actions_t?
        #endif
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addclose(&actions, fds[1])
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, nil, argv, envp)
        close(fds[1])
        guard rc == 0 else {
            close(fds[0])
            throw TestFailure("posix_spawn \(path): \(String(cString: strerror(rc)))")
        }
        self.pid = pid
        output = fds[0]
    }

    deinit { close(output) }

    /// The next whole line, or nil at end of output. Fails after `timeout`
    /// seconds without output.
    func readLine(timeout: Double = 30) throws -> String? {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            if finished { return nil }
            var poller = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(timeout * 1000))
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { throw TestFailure("no output from pid \(pid) for \(timeout) s") }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = read(output, &chunk, chunk.count)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 {
                finished = true
            } else {
                buffer.append(contentsOf: chunk[..<count])
            }
        }
    }

    /// Every remaining line up to end of output.
    func readRemainingLines() throws -> [String] {
        var lines: [String] = []
        while let line = try readLine() { lines.append(line) }
        return lines
    }

    /// Sends `SIGKILL`.
    func killHard() { _ = kill(pid, SIGKILL) }

    /// Waits for the child; returns (exit status, terminating signal).
    func wait() -> (status: Int32?, signal: Int32?) {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let signal = status & 0x7f
        if signal == 0 { return ((status >> 8) & 0xff, nil) }
        return (nil, signal)
    }
}
