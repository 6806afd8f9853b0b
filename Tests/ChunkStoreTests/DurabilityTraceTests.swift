#if os(Linux)
import DSMRTestSupport
import SystemC
import Foundation
import Testing

/// SIGKILL keeps the page cache, so the crash campaign cannot tell a synced
/// commit from an unsynced one. These tests trace the crash child's system
/// calls instead and check that every share it acknowledges follows a sync
/// of the commit that stored it: what survives a power cut.
@Suite("Durability of acknowledged shares, from a system call trace")
struct DurabilityTraceTests {
    /// Runs the crash child under strace until it acknowledged `acks`
    /// shares, kills it, and checks the trace.
    static func traceChild(flushing: String? = nil, acks: Int = 40) throws -> SyncTrace {
        let child = try crashChildPath()
        let strace = try findStrace()
        let scratch = try TemporaryDirectory("trace")
        defer { scratch.remove() }
        let directory = scratch.path
        let tracePath = directory + "/trace"
        let arguments =
            [
                "-f", "-qq", "-y", "-o", tracePath, "-e", "signal=none",
                "-e", "trace=openat,close,write,writev,pwrite64,pwritev,pwritev2,fsync,fdatasync,msync,sync_file_range",
                child, "run", directory + "/store", "1", "100",
            ] + (flushing.map { [$0] } ?? [])
        let process = try ChildProcess(strace, arguments)
        var seen = 0
        while seen < acks, let line = try process.readLine(timeout: 30) {
            if line.hasPrefix("ack ") { seen += 1 }
        }
        // Kill the traced child itself (not strace, which must flush its
        // trace); strace then ends with it.
        let children =
            (try? String(contentsOfFile: "/proc/\(process.pid)/task/\(process.pid)/children", encoding: .utf8)) ?? ""
        let pids = children.split(separator: " ").compactMap { pid_t($0) }
        for pid in pids { kill(pid, SIGKILL) }
        if pids.isEmpty { process.killHard() }
        _ = try process.readRemainingLines()
        _ = process.wait()
        #expect(seen == acks, "the traced child acknowledged only \(seen) shares")
        if let keep = ProcessInfo.processInfo.environment["DSMR_KEEP_TRACE"] {
            try? FileManager.default.copyItem(atPath: tracePath, toPath: keep)
        }
        return SyncTrace(
            text: try String(contentsOfFile: tracePath, encoding: .utf8), pageSize: Int(sysconf(Int32(_SC_PAGESIZE))))
    }

    static func findStrace() throws -> String {
        for directory in ["/usr/bin", "/bin", "/usr/local/bin"]
        where FileManager.default.isExecutableFile(atPath: directory + "/strace") {
            return directory + "/strace"
        }
        throw TestFailure("strace is needed for this test (Debian: apt-get install strace)")
    }

    @Test func everyAcknowledgedShareFollowsASyncOfTheCommitThatStoredIt() throws {
        let trace = try Self.traceChild()
        #expect(trace.acknowledgements >= 40)
        #expect(trace.syncs > 0 && trace.metaWrites > 0, "\(trace)")
        #expect(trace.violations.isEmpty, "\(trace.violations.prefix(3))")
    }

    /// The same child with syncing turned off passes the crash campaign
    /// (the page cache survives SIGKILL) but not this check.
    @Test func theTraceCheckCatchesAChildThatDoesNotSync() throws {
        let trace = try Self.traceChild(flushing: "no-sync")
        #expect(trace.acknowledgements >= 40)
        #expect(trace.syncs == 0 && trace.metaWrites > 0, "\(trace)")
        #expect(
            trace.violations.contains { $0.contains("acknowledged while the last commit's meta page was not synced") })
        #expect(trace.violations.contains { $0.contains("before the data pages it points at were synced") })
    }

    /// Syncing the data pages but not the meta page (`noMetaSync`) is caught
    /// too: the last commit could be lost in a power cut.
    @Test func theTraceCheckCatchesAChildThatDoesNotSyncTheMetaPage() throws {
        let trace = try Self.traceChild(flushing: "no-meta-sync")
        #expect(trace.acknowledgements >= 40)
        #expect(trace.syncs > 0 && trace.metaWrites > 0, "\(trace)")
        #expect(
            trace.violations.contains { $0.contains("acknowledged while the last commit's meta page was not synced") })
        #expect(!trace.violations.contains { $0.contains("before the data pages it points at were synced") })
    }
}
#endif
