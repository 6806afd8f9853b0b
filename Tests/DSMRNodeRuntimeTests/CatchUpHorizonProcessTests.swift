import DSMR
import DSMRDevnet
import DSMRNodeRuntime
import DSMRTestSupport
import Foundation
import Testing

/// The catch-up horizon: three quarters of `acceptedRetention` from the executed block.
@Suite("The catch-up horizon")
struct CatchUpHorizonTests {
    @Test func horizonIsThreeQuartersOfTheRetentionFromTheTip() {
        #expect(!CatchUpHorizon.isBeyond(tipTimestamp: 10_000, now: 16_000, acceptedRetention: 8_000))
        #expect(CatchUpHorizon.isBeyond(tipTimestamp: 10_000, now: 16_001, acceptedRetention: 8_000))
        // A clock behind the tip, or an age that overflows, is not beyond it.
        #expect(!CatchUpHorizon.isBeyond(tipTimestamp: 10_000, now: 0, acceptedRetention: 8_000))
        #expect(!CatchUpHorizon.isBeyond(tipTimestamp: .min, now: .max, acceptedRetention: 8_000))
    }

    @Test func blocksAreKeptTheValidityWindowLongerThanChunks() {
        let rules = RulesConfiguration.devnet
        #expect(NodeRunner.blockRetention(acceptedRetention: 8_000, rules: rules) == 8_000 + rules.validityWindow)
        #expect(NodeRunner.blockRetention(acceptedRetention: .max, rules: rules) == .max)
    }
}

/// A validator whose store is intact but whose executed block is older
/// than its peers keep chunks (beyond the catch-up horizon) does not wait
/// on chunks that are gone: it moves the store aside, carrying its signing
/// history as a floor, and comes back through state sync.
///
/// Devnets of real processes for a minute and a half: runs with
/// `DSMR_FAULT_TESTS` set (`.ci/run` runs it on its own with the fault
/// suites; a machine starved by the parallel run slows the chain until
/// the snapshots offered are older than the blocks kept below them).
@Suite(
    "A store beyond the catch-up horizon", .serialized,
    .enabled(if: ProcessInfo.processInfo.environment["DSMR_FAULT_TESTS"] != nil, "set DSMR_FAULT_TESTS=1"))
struct CatchUpHorizonProcessTests {
    /// A devnet whose validators keep chunks 8 s past their expiry (the
    /// horizon is 6 s from the executed block) and snapshot every 8 heights.
    static func options(_ directory: String) throws -> DevnetOptions {
        var options = try devnetOptions(directory, load: .seconds(2))
        options.snapshotInterval = 8
        options.acceptedRetention = 8_000
        options.drainTimeout = .seconds(15)
        return options
    }

    @Test func aValidatorDownLongerThanItsPeersKeepChunksComesBackThroughStateSync() async throws {
        let scratch = try scratchDirectory("horizon")
        defer { scratch.remove() }
        try await withDevnet(try Self.options(scratch.path)) { devnet in
            let layout = devnet.layout
            _ = try await devnet.runLoad { _ in }
            let behind = 3
            let before = try #require(await nodeStatus(layout.controlSocket(behind)))
            await devnet.kill(behind)
            // The others go on past the horizon (6 s from its tip) and certify a snapshot above it.
            _ = try await devnet.runLoad(duration: .seconds(8)) { _ in }
            let certified = try await servedSnapshot(devnet, among: [0, 1, 2], runningLoad: true)
            #expect(certified > before.acceptedHeight)

            try await devnet.startNode(behind)
            let after = try await devnet.runLoad(duration: .seconds(4)) { _ in }
            let log = (try? String(contentsOfFile: layout.logPath(behind), encoding: .utf8)) ?? ""
            let said = try #require(
                log.split(separator: "\n").first { $0.contains("the store cannot go on") }, "\(log.suffix(2_000))")
            #expect(said.contains("beyond the catch-up horizon"), "\(said)")
            #expect(said.contains("from the old store"), "its signing history is carried: \(said)")
            #expect(log.contains("state sync: done"), "\(log.suffix(2_000))")
            let kept = try FileManager.default.contentsOfDirectory(atPath: layout.nodeDirectory(behind))
            #expect(kept.contains { $0.hasPrefix("store.replaced-") }, "the old store is kept: \(kept)")
            let node = try #require(after.nodes.first { $0.index == behind })
            #expect(node.health == "healthy", "\(node)")
            #expect(after.lagging.isEmpty && after.rootsAgree, "\(after)")
            #expect(node.executedHeight >= after.commonHeight && node.executedHeight > certified, "\(after)")
        }
    }

    /// A running validator paused past the horizon cannot fetch the chunks
    /// of the blocks it is given; it says why, exits with status 75 for its
    /// supervisor, and restarted (by the devnet), it syncs.
    @Test func aValidatorPausedPastTheHorizonStopsAndComesBackThroughStateSync() async throws {
        let scratch = try scratchDirectory("horizon-paused")
        defer { scratch.remove() }
        var options = try Self.options(scratch.path)
        options.restartDied = true
        try await withDevnet(options) { devnet in
            let layout = devnet.layout
            _ = try await devnet.runLoad { _ in }
            let paused = 2
            let process = try #require(devnet.process(paused))
            process.signal(SIGSTOP)
            // Long enough that the others drop the chunks of the blocks it missed first
            // (kept 8 s past their expiry, by chain time).
            _ = try await devnet.runLoad(duration: .seconds(25)) { _ in }
            let certified = try await servedSnapshot(devnet, among: [0, 1, 3], runningLoad: true)
            process.signal(SIGCONT)
            // The chain goes on (the driver offers it the blocks it missed) while it tries to catch up.
            let load = Task { try await devnet.runLoad(duration: .seconds(90)) { _ in } }
            let stopped = await eventually(within: .seconds(90), pollingEvery: .milliseconds(200)) {
                !process.isRunning
            }
            let back = await eventually(within: .seconds(60), pollingEvery: .milliseconds(200)) {
                await nodeStatus(layout.controlSocket(paused)) != nil
            }
            devnet.stopLoad()
            _ = try await load.value
            try #require(stopped, "it stops: \(logTail(layout, paused, lines: 30))")
            #expect(process.exitStatus == NodeFailure.stateSyncNeededExitCode, "\(logTail(layout, paused))")
            try #require(back, "the devnet restarts it: \(logTail(layout, paused, lines: 30))")
            let after = try await devnet.runLoad(duration: .seconds(4)) { _ in }
            let log = (try? String(contentsOfFile: layout.logPath(paused), encoding: .utf8)) ?? ""
            #expect(log.contains("node falling behind"), "\(log.suffix(2_000))")
            #expect(log.contains("beyond the catch-up horizon"), "\(log.suffix(2_000))")
            #expect(log.contains("state sync: done"), "\(log.suffix(2_000))")
            let node = try #require(after.nodes.first { $0.index == paused })
            #expect(node.restarts >= 1 && node.health == "healthy", "\(node)")
            #expect(after.lagging.isEmpty && after.rootsAgree, "\(after)")
            #expect(node.executedHeight >= after.commonHeight && node.executedHeight > certified, "\(after)")
        }
    }
}
