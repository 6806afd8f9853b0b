import ChunkStore
import DSMR
import DSMRDevnet
import DSMRNodeRuntime
import DSMRTestSupport
import Foundation
import Testing

/// Devnets of real `dsmr-node` processes on loopback (each on its own 127.0.0.x), driven by ``Devnet``.
/// Serialized: two 4-validator devnets at once would only slow each other down.
@Suite("Devnet processes", .serialized)
struct DevnetProcessTests {
    @Test func fourNodeProcessesExecuteALoadAndAgreeOnStateRoots() async throws {
        let scratch = try scratchDirectory("agree")
        defer { scratch.remove() }
        let devnet = try Devnet(try devnetOptions(scratch.path, load: .seconds(2)))
        let summary = try await devnet.run { _ in }

        #expect(summary.rootsAgree, "\(summary)")
        #expect(summary.submitted >= 2 * 200, "the load submits its rate for its whole duration")
        #expect(summary.executed > 0)
        #expect(summary.commonHeight > 0)
        #expect(summary.pending == 0, "every submitted transfer executed or was accounted as lost")
        #expect(summary.submitted == summary.executed + summary.lost + summary.pending)
        #expect(summary.nodes.count == 4)
        #expect(summary.nodes.allSatisfy { $0.executedHeight >= summary.commonHeight && $0.stateRoot != nil })
    }

    /// A devnet run again on its directory continues its chain, and its
    /// accounts' transfers go on from the nonces the chain executed: every
    /// transfer of the second run applies, and the state moves on.
    @Test func aSecondRunContinuesTheChainAndItsTransfersApply() async throws {
        let scratch = try scratchDirectory("again")
        defer { scratch.remove() }
        let first = try await Devnet(try devnetOptions(scratch.path, load: .seconds(1), rate: 100)).run { _ in }
        let second = try await Devnet(try devnetOptions(scratch.path, load: .seconds(1), rate: 100)).run { _ in }

        #expect(first.rootsAgree && second.rootsAgree)
        #expect(first.executed > 0)
        #expect(second.commonHeight > first.commonHeight, "the second run extends the first run's chain")
        #expect(second.submitted > 0 && second.executed == second.submitted, "\(second)")
        #expect(second.lost == 0)
        #expect(Set(second.nodes.compactMap(\.stateRoot)) != Set(first.nodes.compactMap(\.stateRoot)))
    }

    /// A chain whose time is an hour behind the clock (as after a pause)
    /// first has empty blocks move its time up to the clock, then runs the
    /// load: no transfer is lost, and the summary says why the load waited.
    /// Without the wait, chunks built for the chain's slots expire (chain
    /// time runs 40-150 times faster than the clock while it catches up)
    /// before a block can carry them, and most transfers are lost.
    @Test func aChainAnHourBehindCatchesUpBeforeTheLoadAndLosesNothing() async throws {
        let scratch = try scratchDirectory("behind")
        defer { scratch.remove() }
        let options = try devnetOptions(scratch.path, validators: 1, load: .seconds(2), rate: 100)
        _ = try DevnetLayout.prepare(directory: options.directory, validators: 1, provider: options.provider)
        let identity = options.directory + "/devnet.json"
        var object = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: identity))) as? [String: Any])
        let hour: Int64 = 3_600_000
        object["genesisTime"] = Int64(Date().timeIntervalSince1970 * 1_000) - hour
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: identity))

        let summary = try await Devnet(options).run { _ in }
        let catchUp = try #require(summary.chainCatchUp, "\(summary)")
        #expect(catchUp.caughtUp, "\(catchUp)")
        #expect(catchUp.lagMilliseconds >= hour, "\(catchUp)")
        // Each block moves chain time by at most maxBlockSkew (5 s).
        #expect(catchUp.blocks >= 700, "\(catchUp)")
        #expect(catchUp.line.contains("lagged the clock by 1 h 0 min"), "\(catchUp.line)")
        #expect(summary.submitted > 0 && summary.executed == summary.submitted, "\(summary)")
        #expect(summary.lost == 0, "\(summary)")
    }

    /// Kills a validator with SIGKILL while load flows, lets the others go
    /// on without it, restarts it on its store and waits until it has
    /// executed what the others had when it came back; `DSMR_DEVNET_KILLS`
    /// (default 1) repeats this, each time on the next validator. Then
    /// every validator must reach the same executed height with the same
    /// state root, and `dsmr-store check` and `replay` pass on every killed
    /// validator's store.
    @Test func aValidatorKilledMidRunRestartsOnItsStoreCatchesUpAndAgrees() async throws {
        let kills = max(1, ProcessInfo.processInfo.environment["DSMR_DEVNET_KILLS"].flatMap { Int($0) } ?? 1)
        let scratch = try scratchDirectory("kill")
        defer { scratch.remove() }
        var options = try devnetOptions(scratch.path, load: nil)
        // Transfers die with the killed validator's mempool; they expire
        // 2 × chunkLifetime after signing, and the run accounts for them
        // once chain time passes that. maxBlockSkew stays below
        // validityWindow: while chain time lags the clock (a slow start),
        // chunks expire at most validityWindow after chain time, and the
        // driver's next block lies maxBlockSkew after it; with the default
        // skew (5 s) that block could carry none of them and the chain
        // would stall.
        options.rules.chunkLifetime = 2_000
        options.rules.validityWindow = 4_000
        options.rules.maxBlockSkew = 1_000
        let transferLifetime: Int64 = 4_000
        let all = 0..<options.validators
        // Generous: only a failing run waits this long, and a loaded machine (the whole suite in
        // parallel on two cores) can slow the validators many times over.
        let patience = Duration.seconds(120)
        var killed: [Int] = []
        let layout = try await withDevnet(options) { devnet in
            let layout = devnet.layout
            let load = Task { try await devnet.runLoad { _ in } }
            let summary: DevnetSummary
            do {
                var lastKill: Int64 = 0
                for round in 0..<kills {
                    let victim = (round + 1) % options.validators
                    let others = all.filter { $0 != victim }
                    let before = try await tip(layout, all)
                    try await waitUntil(
                        "the chain grows by 3 blocks under load before the kill", timeout: patience,
                        pollingEvery: .milliseconds(50),
                        diagnosis: { await diagnose(layout, all) }
                    ) {
                        try await tip(layout, all) >= before + 3
                    }
                    await devnet.kill(victim)
                    lastKill = Int64(Date().timeIntervalSince1970 * 1_000)
                    killed.append(victim)
                    let atKill = try await tip(layout, others)
                    try await waitUntil(
                        "the others order 3 blocks without validator \(victim)", timeout: patience,
                        pollingEvery: .milliseconds(50),
                        diagnosis: { await diagnose(layout, all) }
                    ) {
                        try await tip(layout, others) >= atKill + 3
                    }
                    try await devnet.startNode(victim)
                    let target = try await tip(layout, others)
                    try await waitUntil(
                        "restarted validator \(victim) executes up to \(target)", timeout: patience,
                        pollingEvery: .milliseconds(50),
                        diagnosis: { await diagnose(layout, all) }
                    ) {
                        (await nodeStatus(layout.controlSocket(victim)))?.executedHeight ?? 0 >= target
                    }
                }
                try await waitUntil(
                    "chain time passes the expiry of transfers lost with the last kill", timeout: patience,
                    pollingEvery: .milliseconds(50),
                    diagnosis: { await diagnose(layout, all) }
                ) {
                    try await statuses(layout, all).values.map(\.acceptedTimestamp).max() ?? 0
                        > lastKill + transferLifetime + 500
                }
                devnet.stopLoad()
                summary = try await load.value
            } catch {
                devnet.stopLoad()
                _ = try? await load.value
                throw error
            }
            #expect(summary.rootsAgree, "\(summary)")
            #expect(summary.executed > 0)
            // Every transfer is counted once: executed, lost (and re-sent) or pending. Transfers lost
            // late in the run (their chunk not certified on a loaded machine) can stay pending: chain
            // time stands still once the load stops, so they are never seen to expire.
            #expect(summary.submitted == summary.executed + summary.lost + summary.pending)

            // Ordering has stopped: every validator executes the whole chain and agrees on its root.
            var final: [Int: NodeStatus] = [:]
            try await waitUntil(
                "every validator executes the same height: \(final.mapValues(\.executedHeight))", timeout: patience,
                pollingEvery: .milliseconds(50)
            ) {
                final = try await statuses(layout, all)
                let executed = Set(final.values.map(\.executedHeight))
                let accepted = Set(final.values.map(\.acceptedHeight))
                return executed.count == 1 && accepted == executed
            }
            let height = final[0]!.executedHeight
            #expect(height > 0)
            var roots: [Int: StateRoot] = [:]
            for index in all {
                if case .stateRoot(let root)? = await ask(layout.controlSocket(index), .stateRoot(height: height)) {
                    roots[index] = root
                }
            }
            #expect(roots.count == options.validators && Set(roots.values).count == 1, "roots at \(height): \(roots)")
            return layout
        }

        // The validators are stopped: each killed validator's store is sound and replays to its roots.
        let tool = try builtExecutable("dsmr-store")
        for victim in Set(killed).sorted() {
            let check = try await runTool(tool, ["check", "--store", layout.storePath(victim)])
            #expect(check.status == 0 && !check.signalled, "check of validator \(victim): \(check)")
            let replay = try await runTool(
                tool, ["replay", "--store", layout.storePath(victim), "--genesis", layout.genesisPath])
            #expect(replay.status == 0 && !replay.signalled, "replay of validator \(victim): \(replay)")
        }
    }
}

/// Validators `indices`' statuses and the last lines of their logs, for failure messages.
private func diagnose(_ layout: DevnetLayout, _ indices: some Sequence<Int>) async -> String {
    var lines: [String] = []
    for index in indices {
        let status = await nodeStatus(layout.controlSocket(index))
        lines.append("node\(index): \(status.map { "\($0)" } ?? "no answer")")
        lines.append(logTail(layout, index, lines: 8))
    }
    return lines.joined(separator: "\n")
}

/// The highest accepted height among validators `indices`.
private func tip(_ layout: DevnetLayout, _ indices: some Sequence<Int>) async throws -> UInt64 {
    try await statuses(layout, indices).values.map(\.acceptedHeight).max() ?? 0
}
