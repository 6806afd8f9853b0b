import DSMRNodeRuntime
import DSMR

extension Devnet {
    /// How far the chain's time may lag the clock when the load starts:
    /// `maxBlockSkew` plus a slot. Within it a chunk is built for the
    /// clock's slot and chain time moves no faster than the clock.
    var chainLagAllowed: Int64 { rules.maxBlockSkew + rules.slotDuration }

    /// How long the chain's height may stand still while its time lags
    /// before the load starts anyway (the summary then says so).
    static let catchUpStall: Duration = .seconds(30)

    /// The chain's time: the latest accepted block's timestamp the devnet
    /// knows (its tip, or a validator's status), in ms since 1970.
    func chainTimestamp() -> Int64? {
        let tip = chain.withLock { $0.tip?.timestamp }
        let accepted = members.withLock { members in members.compactMap { $0.status?.acceptedTimestamp }.max() }
        return [tip, accepted].compactMap { $0 }.max()
    }

    /// With ordering running and before the load: when the chain's time
    /// lags the clock by more than a chunk lifetime, waits until it is
    /// within ``chainLagAllowed`` of the clock.
    ///
    /// A chain reused after a pause has its time far behind the clock, and a
    /// block moves it by at most `maxBlockSkew` (each block without
    /// certificates at least a slot), so it takes many blocks to catch up.
    /// Meanwhile chain time runs far faster than the clock: a chunk built
    /// for the chain's slot expires, in chain time, within a fraction of a
    /// second, before a block can carry it, and load submitted then would be
    /// lost. So the load waits, and the wait is reported (a progress line
    /// with ``DevnetProgress/chainLag`` set) and summarised
    /// (``DevnetSummary/chainCatchUp``). The wait ends early when the height
    /// stands still for ``catchUpStall`` or ``stopLoad()`` is called.
    ///
    /// - Returns: nil when the chain's time lagged by a chunk lifetime or less.
    func catchUpChainTime(report: @escaping @Sendable (DevnetProgress) -> Void) async -> DevnetSummary.ChainCatchUp? {
        try? await refreshStatus()
        guard let first = chainTimestamp() else { return nil }
        let startLag = SystemClockMilliseconds.now() - first
        // Within a chunk lifetime a few blocks catch up while chunks are
        // built for slots peers accept; the load need not wait for them.
        guard startLag > max(chainLagAllowed, rules.chunkLifetime) else { return nil }
        catchingUp.withLock { $0 = true }
        defer { catchingUp.withLock { $0 = false } }
        let started = ContinuousClock.now
        let startHeight = chainHeight()
        var progress = (height: startHeight, at: started)
        var lastReport = (height: startHeight, at: started)
        var caughtUp = false
        while !loadStopped.withLock({ $0 }) {
            try? await Task.sleep(for: .milliseconds(100))
            try? await refreshStatus()
            let now = ContinuousClock.now
            let height = chainHeight()
            let lag = SystemClockMilliseconds.now() - (chainTimestamp() ?? first)
            if lag <= chainLagAllowed {
                caughtUp = true
                break
            }
            if height > progress.height { progress = (height, now) }
            if now - progress.at >= Self.catchUpStall { break }
            if now - lastReport.at >= options.statusInterval {
                let seconds = max((now - lastReport.at).seconds, 0.001)
                var line = DevnetProgress(
                    elapsed: (now - started).seconds, submittedPerSecond: 0, executedPerSecond: 0,
                    certificatesPerSecond: 0,
                    blocksPerSecond: Double(height - min(height, lastReport.height)) / seconds,
                    p50: nil, p99: nil, height: height, pending: 0, storeBytes: [], validatorsUp: live.count,
                    validators: options.validators)
                line.chainLag = .milliseconds(lag)
                line.chainLagAllowed = .milliseconds(chainLagAllowed)
                // Chain time gains about maxBlockSkew a block on the clock, less the clock's own second.
                let gain = line.blocksPerSecond * Double(rules.maxBlockSkew) - 1_000
                if gain > 0 { line.catchUpLeft = .seconds(Double(lag - chainLagAllowed) / gain) }
                report(line)
                lastReport = (height, now)
            }
        }
        let endHeight = chainHeight()
        return DevnetSummary.ChainCatchUp(
            lagMilliseconds: startLag, blocks: endHeight - min(endHeight, startHeight),
            seconds: (ContinuousClock.now - started).seconds, caughtUp: caughtUp)
    }

    /// The highest accepted height the devnet knows (a validator's status
    /// may be older than the tip, or lower after a restart: heights taken
    /// from it are subtracted saturating).
    func chainHeight() -> UInt64 {
        let tip = chain.withLock { $0.tip?.height ?? 0 }
        return max(tip, members.withLock { members in members.compactMap { $0.status?.acceptedHeight }.max() ?? 0 })
    }
}

/// A span of chain time in words: `2 d 3 h`, `1 h 5 min`, `4 min 10 s`, `42 s`.
package func chainLagText(milliseconds: Int64) -> String {
    let seconds = max(milliseconds, 0) / 1_000
    let (days, hours, minutes) = (seconds / 86_400, seconds % 86_400 / 3_600, seconds % 3_600 / 60)
    if days > 0 { return "\(days) d \(hours) h" }
    if hours > 0 { return "\(hours) h \(minutes) min" }
    if minutes > 0 { return "\(minutes) min \(seconds % 60) s" }
    return "\(seconds) s"
}
