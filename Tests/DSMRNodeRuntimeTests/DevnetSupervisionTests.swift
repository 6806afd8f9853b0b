import DSMRDevnet
import DSMRTestSupport
import Foundation
import Testing

/// The devnet as a supervisor: a validator killed from outside is started
/// again by the devnet, and a summary names a validator that did not keep
/// up instead of comparing roots at its stale height.
///
/// A devnet ordering through etcd for about half a minute: run only with
/// `DSMR_FAULT_TESTS` set (`.ci/run` runs the fault suites on their own).
@Suite(
    "Devnet supervision", .serialized,
    .enabled(if: ProcessInfo.processInfo.environment["DSMR_FAULT_TESTS"] != nil))
struct DevnetSupervisionTests {
    @Test func aKilledValidatorIsRestartedAndAStoppedOneIsNamedInTheSummary() async throws {
        let scratch = try scratchDirectory("supervise")
        defer { scratch.remove() }
        var options = try devnetOptions(scratch.path, load: .seconds(6), rate: 100)
        options.ordering = .etcd
        options.restartDied = true
        options.drainTimeout = .seconds(8)
        try await withDevnet(options) { devnet in
            // SIGKILL from outside the devnet: its process ends without being asked to.
            let run = Task { try await devnet.runLoad { _ in } }
            try await Task.sleep(for: .seconds(2))
            let first = try #require(devnet.process(1))
            first.signal(SIGKILL)
            let summary = try await run.value
            let restarted = try #require(summary.nodes.first { $0.index == 1 })
            #expect(restarted.restarts == 1, "\(restarted)")
            #expect(devnet.process(1)?.isRunning == true && devnet.process(1)?.processID != first.processID)
            #expect(summary.lagging.isEmpty, "\(summary.lagging)")
            #expect(summary.rootsAgree && summary.executed > 0, "\(summary)")

            // Stopped through the end of a run: named, with its cause; the others are compared without it.
            let stopped = try #require(devnet.process(2))
            stopped.signal(SIGSTOP)
            defer { stopped.signal(SIGCONT) }
            let second = try await devnet.runLoad(duration: .seconds(2)) { _ in }
            let named = second.lagging.map(\.index)
            #expect(named == [2], "\(second.lagging)")
            #expect(second.lagging.first?.cause.contains("stopped") == true, "\(second.lagging)")
            #expect(second.rootsAgree && second.commonHeight > summary.commonHeight, "\(second)")
        }
    }
}
