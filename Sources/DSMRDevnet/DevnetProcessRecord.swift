import Foundation
import Synchronization
import SystemC

/// The processes a devnet run started, kept in `DIR/processes` so that the
/// next run in the same directory can stop what a killed run left behind.
///
/// A devnet killed with SIGKILL cannot stop its children: its validators
/// notice within a quarter second and stop by themselves, but take a moment
/// to do so (and hold their stores meanwhile), and its etcd members would run
/// on forever. The next run reads the record, stops every process in it that
/// still runs (SIGTERM, then SIGKILL), and only then starts its own; and it
/// refuses to start while the recorded devnet itself still runs.
///
/// Each line is `name pid starttime`; the first names the devnet itself. A
/// process is taken to be the recorded one only when its start time (field
/// 22 of `/proc/PID/stat`, in clock ticks since boot) matches too and its
/// command line names a path in the directory, so a pid the kernel has
/// since given to another process is never signalled.
package final class DevnetProcessRecord: Sendable {
    /// One recorded process.
    package struct Entry: Sendable, Hashable {
        /// `devnet`, `node<i>` or `etcd<i>`.
        package var name: String
        /// Its process id.
        package var pid: Int32
        /// Its start time in clock ticks since boot.
        package var startTime: UInt64

        /// Whether the recorded process still runs: the pid exists, is not a
        /// zombie, and started at the recorded time.
        package var isRunning: Bool {
            guard let now = processStart(pid) else { return false }
            return now == startTime
        }
    }

    /// The record file of the devnet at `directory`.
    package static func path(in directory: String) -> String { "\(directory)/processes" }

    let directory: String
    let entries = Mutex<[Entry]>([])

    /// A record for a run in `directory`; nothing is written before ``begin()``.
    package init(directory: String) { self.directory = directory }

    /// Throws when the devnet recorded in `directory` still runs in another
    /// process: two runs must not share one directory.
    package static func checkNoOtherRun(in directory: String) throws {
        guard let devnet = read(directory).first(where: { $0.name == "devnet" }) else { return }
        guard devnet.pid != getpid(), devnet.isRunning else { return }
        throw DevnetError(
            "a devnet (pid \(devnet.pid)) is running in \(directory); stop it first, or use another --data directory")
    }

    /// Stops every process a previous run in `directory` recorded that still
    /// runs, and returns the names of those it stopped.
    ///
    /// SIGTERM first (a validator then closes its store, an etcd member its
    /// data); after `grace`, SIGKILL; then up to 5 s more for the kernel to
    /// end them. Processes recorded by this very process are left alone (an
    /// earlier devnet in it stopped its own).
    ///
    /// - Throws: ``DevnetError`` when the recorded devnet still runs, or a
    ///   process survives SIGKILL for 5 s.
    package static func stopLeftovers(in directory: String, grace: Duration = .seconds(10)) async throws -> [String] {
        try checkNoOtherRun(in: directory)
        let recorded = read(directory)
        guard let devnet = recorded.first(where: { $0.name == "devnet" }), devnet.pid != getpid() else { return [] }
        // Every child of a run names a path in the directory on its command
        // line (a validator its configuration, an etcd member its data).
        let absolute = URL(fileURLWithPath: directory).standardizedFileURL.path
        let running = recorded.filter { entry in
            entry.name != "devnet" && entry.isRunning && commandLine(entry.pid).contains(absolute + "/")
        }
        guard !running.isEmpty else { return [] }
        for entry in running { kill(entry.pid, SIGTERM) }
        var deadline = ContinuousClock.now + grace
        while running.contains(where: \.isRunning), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        for entry in running where entry.isRunning { kill(entry.pid, SIGKILL) }
        deadline = ContinuousClock.now + .seconds(5)
        while running.contains(where: \.isRunning), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let survivors = running.filter(\.isRunning)
        guard survivors.isEmpty else {
            throw DevnetError(
                "processes an earlier devnet run in \(directory) left behind survived SIGKILL: "
                    + survivors.map { "\($0.name) (pid \($0.pid))" }.joined(separator: ", "))
        }
        return running.map(\.name)
    }

    /// Records this process as the devnet of `directory`, replacing any earlier record.
    package func begin() throws {
        guard let start = processStart(getpid()) else {
            throw DevnetError("cannot read this process's start time from /proc/\(getpid())/stat")
        }
        entries.withLock { $0 = [Entry(name: "devnet", pid: getpid(), startTime: start)] }
        try write()
    }

    /// Adds a child the run started (again, after a restart: the name's older entry goes).
    package func add(name: String, pid: Int32) {
        guard let start = processStart(pid) else { return }
        entries.withLock { entries in
            guard !entries.isEmpty else { return }
            entries.removeAll { $0.name == name }
            entries.append(Entry(name: name, pid: pid, startTime: start))
        }
        try? write()
    }

    /// The entries recorded in `directory`; lines that do not parse are skipped.
    package static func read(_ directory: String) -> [Entry] {
        guard let text = try? String(contentsOfFile: path(in: directory), encoding: .utf8) else { return [] }
        return text.split(separator: "\n").prefix(4_096).compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count == 3, let pid = Int32(fields[1]), pid > 0, let start = UInt64(fields[2]) else {
                return nil
            }
            return Entry(name: String(fields[0]), pid: pid, startTime: start)
        }
    }

    private func write() throws {
        let lines = entries.withLock { $0 }.map { "\($0.name) \($0.pid) \($0.startTime)\n" }.joined()
        guard !lines.isEmpty else { return }
        do {
            try Data(lines.utf8).write(to: URL(fileURLWithPath: Self.path(in: directory)), options: .atomic)
        } catch {
            throw DevnetError("cannot write \(Self.path(in: directory)): \(error)")
        }
    }
}

/// The command line of process `pid`, its arguments joined by spaces; empty when it cannot be read.
func commandLine(_ pid: Int32) -> String {
    guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return "" }
    return String(decoding: data.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
}

/// When process `pid` started (clock ticks since boot); nil when it does
/// not exist or has ended.
func processStart(_ pid: Int32) -> UInt64? {
    guard let stat = ProcessStat(pid: pid), !stat.hasEnded else { return nil }
    return stat.startTime
}
