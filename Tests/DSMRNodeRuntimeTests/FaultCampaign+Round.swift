import DSMR
import DSMRDevnet
import Foundation

extension FaultCampaign {
    /// Transfers a second while a round runs.
    static let rate = 150

    /// Runs a load for `duration` on the devnet, in a task of its own.
    func startLoad(for duration: Duration) -> Task<DevnetSummary, any Error> {
        let devnet = self.devnet
        let rate = Self.rate
        return Task { try await devnet.runLoad(rate: rate, duration: duration) { _ in } }
    }

    /// Plays `round`: a load runs, the fault begins at its onset and ends
    /// after its length; then the chain must make progress, every
    /// validator must be back in step, the load's transfers must all be
    /// executed or reported lost, the roots must agree, no block may have
    /// changed, and every store must hold no double signature and check
    /// clean. Returns the problems found (none: the round passed).
    func play(
        _ round: CampaignRound, tally: inout CampaignTally, generator: inout SeededGenerator
    ) async throws -> [String] {
        let restartsBefore = devnet.restarts
        let loadLength = round.onset + round.length + .seconds(4)
        let load = startLoad(for: loadLength)
        var problems: [String] = []
        var began = ContinuousClock.now
        var ended = began
        do {
            try await Task.sleep(for: round.onset)
            began = .now
            try await inject(round)
            try await Task.sleep(for: round.length)
            ended = .now
            try await heal(round)
        } catch {
            healEverything()
            devnet.stopLoad()
            _ = try? await load.value
            throw error
        }
        // A killed or wiped validator's fault ends when it is started again.
        let faultSeconds = (ended - began).seconds
        let top = await executedHeights().max() ?? 0
        if await progress(past: top) == nil {
            problems.append(
                "the chain did not execute 3 blocks past \(top) within \(Self.progressBound) of the fault's end")
        }
        let comeback = await everyoneExecuted(top).map { _ in ContinuousClock.now - ended }
        if comeback == nil {
            let heights = await executedHeights()
            problems.append(
                "not every validator executed height \(top) within \(Self.comebackBound) of the fault's end: \(heights); "
                    + "validator \(round.victim)'s log:\n\(logTail(layout, round.victim, lines: 12))")
        }
        let summary = try await load.value
        if !summary.rootsAgree { problems.append("the load's summary finds the roots disagree: \(summary)") }
        if summary.pending != 0 || summary.executed + summary.lost != summary.submitted {
            problems.append(
                "transfers unaccounted for: \(summary.submitted) submitted, \(summary.executed) executed, "
                    + "\(summary.lost) reported lost, \(summary.pending) pending")
        }
        problems += await rootsAgree()
        problems += await blocksUnchanged(resample: 16, using: &generator)
        problems += storesClean()
        let replaced = removeReplaced()
        tally.blocks = blockIDs.keys.max() ?? 0
        tally.record(
            round, faultSeconds: faultSeconds, summary: (summary.submitted, summary.executed, summary.lost),
            restarts: devnet.restarts - restartsBefore, replacedStores: replaced, comeback: comeback?.seconds ?? -1)
        print(
            "campaign: round \(round.number) done: fault held \(Int(faultSeconds * 1_000)) ms, "
                + "back in step in \(comeback.map { "\($0)" } ?? "never"); \(summary.submitted) submitted, "
                + "\(summary.executed) executed, \(summary.lost) reported lost; \(replaced) stores replaced; "
                + "\(problems.count) problems")
        return problems
    }
}
