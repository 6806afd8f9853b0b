import DSMRDevnet
import DSMRTestSupport
import Foundation
import Testing

/// etcd members killed under a devnet ordering through them, and a
/// validator joining after the chain has gone on without it.
///
/// Devnets of real processes for up to a few minutes: run only with
/// `DSMR_FAULT_TESTS` set (`.ci/run` runs the fault suites on their own,
/// after the others). `DSMR_LATE_JOINER_BLOCKS` sets how many blocks the
/// late joiner misses (300 by default: further behind than the accepted chunks' retention, 60 s past their expiry, it could not fetch their chunks and comes back through state sync).
@Suite(
    "etcd faults", .serialized,
    .enabled(if: ProcessInfo.processInfo.environment["DSMR_FAULT_TESTS"] != nil))
struct EtcdFaultTests {
    static let lateJoinerBlocks = UInt64(ProcessInfo.processInfo.environment["DSMR_LATE_JOINER_BLOCKS"] ?? "") ?? 300

    func options(_ directory: String) throws -> DevnetOptions {
        var options = try devnetOptions(directory, load: nil)
        options.ordering = .etcd
        options.drainTimeout = .seconds(60)
        return options
    }

    /// Whether every validator's process still runs.
    func allRunning(_ devnet: Devnet) -> Bool {
        (0..<4).allSatisfy { devnet.process($0)?.isRunning == true }
    }

    /// One member of three killed: ordering goes on. A second killed (no
    /// quorum): ordering stops, no validator ends or diverges. One of them
    /// restarted on its data: ordering resumes, and the roots agree.
    @Test func orderingGoesOnWithoutOneMemberStopsWithoutTwoAndResumes() async throws {
        let scratch = try scratchDirectory("etcd-members")
        defer { scratch.remove() }
        try await withDevnet(try options(scratch.path)) { devnet in
            let etcd = try #require(devnet.etcd)
            let all = 0..<4
            try await waitUntil("the chain reaches height 5", timeout: .seconds(30), pollingEvery: .milliseconds(50)) {
                await topHeight(devnet, all) >= 5
            }

            await etcd.kill(0)
            let afterOne = await topHeight(devnet, all)
            try await waitUntil(
                "ordering goes on with two members of three", timeout: .seconds(20), pollingEvery: .milliseconds(50)
            ) {
                await topHeight(devnet, all) >= afterOne + 10
            }

            await etcd.kill(1)
            // Blocks already written may still be read and accepted; then nothing moves.
            try await Task.sleep(for: .seconds(3))
            let stalled = await topHeight(devnet, all)
            try await Task.sleep(for: .seconds(6))
            #expect(await topHeight(devnet, all) == stalled, "no block is ordered with one member of three")
            #expect(allRunning(devnet), "no validator ended while etcd had no quorum")
            let heights = try await statuses(devnet.layout, all)
            for index in all { #expect(heights[index]!.health.condition == .healthy, "validator \(index)") }

            try etcd.startMember(1)
            try await waitUntil(
                "ordering resumes with two members", timeout: .seconds(30), pollingEvery: .milliseconds(50)
            ) {
                await topHeight(devnet, all) >= stalled + 5
            }
            #expect(allRunning(devnet))
            let summary = try await devnet.runLoad(rate: 100, duration: .seconds(2)) { _ in }
            #expect(summary.rootsAgree, "\(summary)")
            #expect(summary.executed == summary.submitted, "\(summary)")
        }
    }

    /// A validator down while the chain orders ``lateJoinerBlocks`` blocks
    /// without it catches up by itself once started (its store holds only
    /// genesis, so it takes the newest certified snapshot, then follows the
    /// log), and agrees.
    @Test func aValidatorStartedAfterManyBlocksCatchesUpFromTheLog() async throws {
        let scratch = try scratchDirectory("etcd-late")
        defer { scratch.remove() }
        try await withDevnet(try options(scratch.path)) { devnet in
            let others = 0..<3
            await devnet.kill(3)
            let target = Self.lateJoinerBlocks
            // An idle chain orders a block a slot; a load makes them faster and carries transfers.
            let deadline = ContinuousClock.now + .seconds(Int64(target))
            while await topHeight(devnet, others) < target {
                guard ContinuousClock.now < deadline else {
                    throw TestFailure("the chain did not order \(target) blocks without validator 3")
                }
                let summary = try await devnet.runLoad(rate: 100, duration: .seconds(10)) { _ in }
                #expect(summary.executed == summary.submitted, "\(summary)")
            }
            let missed = await topHeight(devnet, others)
            let started = ContinuousClock.now
            try await devnet.startNode(3)
            try await waitUntil(
                "validator 3 catches up \(missed) blocks from the log", timeout: .seconds(Int64(missed) / 4 + 60),
                pollingEvery: .milliseconds(50)
            ) {
                await nodeStatus(devnet.layout.controlSocket(3))?.executedHeight ?? 0 >= missed
            }
            let caughtUp = ContinuousClock.now - started
            print("validator 3 caught up \(missed) blocks (state sync, then the log) in \(caughtUp)")
            let summary = try await devnet.runLoad(rate: 100, duration: .seconds(2)) { _ in }
            #expect(summary.rootsAgree, "\(summary)")
            #expect(summary.nodes[3].executedHeight >= missed)
        }
    }
}
