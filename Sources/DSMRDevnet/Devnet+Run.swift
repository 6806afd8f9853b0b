import DSMRNodeRuntime
import ChunkStore
import DSMR
import DSMRNode
import Foundation

extension Devnet {
    /// Starts the validators, runs the load for ``DevnetOptions/duration``
    /// while ordering blocks and reporting status, lets what was submitted
    /// execute, compares the validators' state roots, and stops them.
    ///
    /// - Parameter report: called with a status line every
    ///   ``DevnetOptions/statusInterval``.
    package func run(report: @escaping @Sendable (DevnetProgress) -> Void) async throws -> DevnetSummary {
        do {
            try await start()
            let summary = try await runLoad(report: report)
            await stopNodes()
            return summary
        } catch {
            await stopNodes()
            throw error
        }
    }

    /// With the validators started: orders blocks and submits load until the
    /// duration passes (or ``stopLoad()``), drains, and summarises. Leaves the
    /// validators running, so it can run again (each run's summary counts
    /// only that run).
    ///
    /// - Parameters:
    ///   - rate: transactions submitted per second; nil takes ``DevnetOptions/transactionRate``.
    ///   - duration: how long the load runs; nil takes ``DevnetOptions/duration``.
    ///   - report: called with a status line every ``DevnetOptions/statusInterval``.
    package func runLoad(
        rate: Int? = nil, duration: Duration? = nil, report: @escaping @Sendable (DevnetProgress) -> Void
    ) async throws -> DevnetSummary {
        ordering.withLock { $0 = true }
        // A run ended early by ``stopLoad()`` does not end the next one.
        loadStopped.withLock { $0 = false }
        await resynchronizeLoad()
        generator.clearLatencies()
        let base = RunBase(
            counts: generator.snapshot(), routed: generator.routed, blocks: chain.withLock { $0.ordered },
            certified: members.withLock { $0.reduce(0) { $0 + $1.certified } })
        let ordering = Task { etcd == nil ? await orderBlocks() : await observeBlocks() }
        let catchUp = await catchUpChainTime(report: report)
        let started = ContinuousClock.now
        let reporting = Task { await reportStatus(started: started, base: base, report: report) }
        await submitLoad(
            started: started, rate: rate ?? options.transactionRate, duration: duration ?? options.duration)
        let loadSeconds = (ContinuousClock.now - started).seconds
        await drain()
        stopOrdering()
        await ordering.value
        if etcd == nil { await catchUpEveryone(within: .seconds(30)) }
        reporting.cancel()
        await reporting.value
        var summary = try await summarise(seconds: loadSeconds, base: base)
        summary.chainCatchUp = catchUp
        return summary
    }

    /// Moves the load's source up to the executed state of the validator
    /// furthest ahead (only ever forward, so transactions still pending keep
    /// their places): transfers given up when a validator died may have
    /// executed before it did (their digests never read), and a load made
    /// from the older state would repeat their places.
    func resynchronizeLoad() async {
        try? await refreshStatus()
        let executed = members.withLock { members in members.map { $0.status?.executedHeight ?? 0 } }
        let reference = responsive.max { executed[$0] < executed[$1] }
        guard let reference, let client = client(of: reference) else { return }
        try? await generator.source.synchronize(query: Self.query(client))
    }

    /// Has the load's source make `count` transactions ahead, valid until
    /// `expiry` (ms since 1970), for the next runs to submit: DemoVM's
    /// signing then does not compete with the validators for the CPU while
    /// the load runs.
    package func prepareLoad(count: Int, expiry: Int64) { generator.prepare(count: count, expiry: expiry) }

    /// The counts when a run started, which its reports and summary subtract.
    struct RunBase {
        var counts: (submitted: Int, executed: Int, lost: Int, pending: Int, recent: [Duration])
        var routed: [Int: LoadGenerator.RoutedLoad]
        var blocks: Int
        var certified: UInt64
    }

    /// Lets what was submitted execute. Ends when nothing is pending, at
    /// ``DevnetOptions/drainTimeout``, or once the validators have been
    /// quiet for five seconds (every mempool empty, no block ordered; longer
    /// than a chunk may wait for its certificate): then
    /// nothing can carry what is still pending, which is counted lost.
    func drain() async {
        let deadline = ContinuousClock.now + options.drainTimeout
        var quiet: (since: ContinuousClock.Instant, blocks: Int)?
        while generator.pendingCount > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(250))
            await reconcileStuckLanes(olderThan: .milliseconds(rules.chunkLifetime))
            try? await refreshStatus()
            let blocks = chain.withLock { $0.ordered }
            let caughtUp = chain.withLock { $0.digestsThrough >= ($0.tip?.height ?? 0) }
            let mempools = members.withLock { members in
                members.filter { $0.client != nil }.reduce(UInt64(0)) { $0 + ($1.status?.mempool ?? 0) }
            }
            // A silent validator's status is stale: it may hold transfers yet.
            let quietNow = mempools == 0 && caughtUp && silentValidators.isEmpty
            guard quietNow, let start = quiet, start.blocks == blocks else {
                quiet = quietNow ? (.now, blocks) : nil
                continue
            }
            if ContinuousClock.now - start.since >= .seconds(5) {
                generator.abandonPending()
                break
            }
        }
    }

    /// Ends the load of the run under way early (it then drains and summarises).
    package func stopLoad() { loadStopped.withLock { $0 = true } }

    func submitLoad(started: ContinuousClock.Instant, rate: Int, duration: Duration?) async {
        let tick = Duration.milliseconds(20)
        var sent = 0
        var lastReconcile = ContinuousClock.now
        while !loadStopped.withLock({ $0 }) {
            var elapsed = ContinuousClock.now - started
            // The last round sends what was due up to the duration, however late it wakes.
            let last = duration.map { elapsed >= $0 } ?? false
            if last, let duration { elapsed = duration }
            var due = Int(elapsed.seconds * Double(rate)) - sent
            if let maxPending = options.maxPending, generator.pendingCount >= maxPending {
                // Paused: the time is not made up later.
                sent += due
                due = 0
            }
            if due > 0 {
                // A validator that does not answer gets no load: its lanes wait, the others' go on.
                let running = Set(responsive)
                let batches = generator.make(count: due, live: running, now: SystemClockMilliseconds.now())
                sent += due
                await withTaskGroup(of: Void.self) { group in
                    for (index, batch) in batches {
                        group.addTask { await self.submit(batch, to: index) }
                    }
                }
            }
            if ContinuousClock.now - lastReconcile > .seconds(2) {
                lastReconcile = .now
                await reconcileStuckLanes(olderThan: .milliseconds(2 * rules.chunkLifetime + 2_000))
            }
            if last { break }
            try? await Task.sleep(for: tick)
        }
    }

    /// Submits `batch` to validator `index`, waiting at most
    /// ``callTimeout`` (less if it stops meanwhile): a validator
    /// that does not answer by then (stopped, or too slow to take load) is
    /// silent until it answers a status request. The batch stays in the
    /// connection, in order, and is read if the validator comes back.
    func submit(_ batch: [LoadTransaction], to index: Int) async {
        guard let client = client(of: index) else { return }
        let started = ContinuousClock.now
        guard (try? await client.send(.submit(batch.map(\.bytes)), timeout: Self.callTimeout)) == nil,
            ContinuousClock.now - started >= Self.callTimeout, process(index)?.isRunning == true
        else { return }
        // No answer at all (a refusal is one) in the whole time.
        markSilent(index, "a submission")
    }

    /// Has the load's source decide, from a validator that executed the
    /// tip, which transactions of lanes pending longer than `age` are lost.
    ///
    /// The source reads the executed state, and a transaction the state
    /// shows applied must never be counted lost: the answer is used only if
    /// the validator's executed height was the height every applied digest
    /// has been read through both before and after the query (blocks
    /// ordered meanwhile would otherwise show applied what was not yet read).
    func reconcileStuckLanes(olderThan age: Duration) async {
        guard generator.pendingCount > 0, let tip = chain.withLock({ $0.tip }),
            chain.withLock({ $0.digestsThrough }) >= tip.height
        else { return }
        let reference = responsive.first { index in
            members.withLock { $0[index].status?.executedHeight ?? 0 >= tip.height }
        }
        guard let reference, let client = client(of: reference) else { return }
        let executedHeight: @Sendable () async -> UInt64? = {
            guard case .status(let status)? = await self.ask(reference, .status) else { return nil }
            return status.executedHeight
        }
        guard let before = await executedHeight(), before == tip.height else { return }
        let lost = await generator.lost(olderThan: age, chainTime: tip.timestamp, query: Self.query(client))
        guard let after = await executedHeight(), after == before else { return }
        generator.forget(lost)
    }

    func reportStatus(
        started: ContinuousClock.Instant, base: RunBase, report: @escaping @Sendable (DevnetProgress) -> Void
    ) async {
        var last = (
            time: started, submitted: base.counts.submitted, executed: base.counts.executed,
            certified: base.certified, blocks: base.blocks
        )
        while !Task.isCancelled {
            try? await Task.sleep(for: options.statusInterval)
            if Task.isCancelled { break }
            try? await refreshStatus()
            let now = ContinuousClock.now
            let counts = generator.snapshot()
            let (ordered, height) = chain.withLock { ($0.ordered, $0.tip?.height ?? 0) }
            let (certified, stores, up, unhealthy) = members.withLock { members in
                (
                    members.reduce(0) { $0 + $1.certified }, members.map { $0.status?.storeBytes ?? 0 },
                    members.filter { $0.client != nil }.count,
                    members.indices.filter { index in
                        members[index].client != nil && members[index].status?.health.condition ?? .healthy != .healthy
                    }
                )
            }
            let seconds = max((now - last.time).seconds, 0.001)
            report(
                DevnetProgress(
                    elapsed: (now - started).seconds,
                    submittedPerSecond: Double(counts.submitted - last.submitted) / seconds,
                    executedPerSecond: Double(counts.executed - last.executed) / seconds,
                    certificatesPerSecond: Double(certified &- last.certified) / seconds,
                    blocksPerSecond: Double(ordered - last.blocks) / seconds,
                    p50: quantile(counts.recent, 0.5), p99: quantile(counts.recent, 0.99), height: height,
                    pending: counts.pending, storeBytes: stores, validatorsUp: up, validators: options.validators,
                    submitted: counts.submitted - base.counts.submitted,
                    executed: counts.executed - base.counts.executed, certificates: certified &- base.certified,
                    blocks: ordered - base.blocks, unhealthy: unhealthy, silent: silentValidators,
                    down: members.withLock { members in
                        members.indices.filter { members[$0].client == nil && members[$0].process != nil }
                    }))
            last = (now, counts.submitted, counts.executed, certified, ordered)
        }
    }

    func summarise(seconds: Double, base: RunBase) async throws -> DevnetSummary {
        try await refreshStatus()
        let statuses = members.withLock { members in
            members.enumerated().map { ($0.offset, $0.element.status, $0.element.client, $0.element.restarts) }
        }
        let lagging = laggingValidators()
        let laggingIndices = Set(lagging.map(\.index))
        let keptUp = statuses.filter { $0.2 != nil && !laggingIndices.contains($0.0) }
        let common = keptUp.compactMap { $0.1?.executedHeight }.min() ?? 0
        var nodes: [DevnetSummary.NodeSummary] = []
        var roots: Set<StateRoot> = []
        var agree = true
        let processes = members.withLock { $0.map(\.process) }
        let routed = generator.routed
        let reference = keptUp.first?.0
        for (index, status, client, restarts) in statuses {
            var root: StateRoot?
            if laggingIndices.contains(index) {
                // Compared at its own height with one that kept up, where that one still holds it.
                let height = status?.executedHeight ?? 0
                if client != nil, let reference, height > 0,
                    case .stateRoot(let value)? = await ask(index, .stateRoot(height: height))
                {
                    root = value
                    if case .stateRoot(let expected)? = await ask(reference, .stateRoot(height: height)),
                        expected != value
                    {
                        agree = false
                    }
                }
            } else if client != nil {
                if case .stateRoot(let value)? = await ask(index, .stateRoot(height: common)) {
                    root = value
                    roots.insert(value)
                } else {
                    agree = false
                }
            }
            nodes.append(
                DevnetSummary.NodeSummary(
                    index: index, nodeID: keys[index].hex, acceptedHeight: status?.acceptedHeight ?? 0,
                    executedHeight: status?.executedHeight ?? 0, stateRoot: root?.hex,
                    storeBytes: status?.storeBytes ?? 0, chunksBuilt: status?.chunksBuilt ?? 0,
                    chunksCertified: status?.chunksCertified ?? 0,
                    peakResidentBytes: processes[index].flatMap { peakResidentBytes(of: $0.processID) },
                    routed: DevnetSummary.RoutedLoad(routed[index], since: base.routed[index]),
                    health: status.map { "\($0.health)" }, restarts: restarts))
        }
        let counts = generator.snapshot()
        let latencies = generator.latencies
        let (ordered, certified) = (
            chain.withLock { $0.ordered }, members.withLock { $0.reduce(0) { $0 + $1.certified } }
        )
        let executed = counts.executed - base.counts.executed
        return DevnetSummary(
            validators: options.validators, seconds: seconds, submitted: counts.submitted - base.counts.submitted,
            executed: executed, lost: counts.lost - base.counts.lost, pending: counts.pending,
            executedPerSecond: Double(executed) / max(seconds, 0.001),
            blocks: ordered - base.blocks, certificates: certified &- base.certified,
            p50Milliseconds: quantile(latencies, 0.5).map(\.milliseconds),
            p99Milliseconds: quantile(latencies, 0.99).map(\.milliseconds),
            fastestMilliseconds: latencies.min().map(\.milliseconds), commonHeight: common,
            rootsAgree: agree && roots.count == 1, lagging: lagging, nodes: nodes)
    }

    /// The validators that are down, stopped, silent, or more than
    /// ``DevnetOptions/maxLagBlocks`` below the highest executed height, each with its cause.
    func laggingValidators() -> [DevnetSummary.Lagging] {
        members.withLock { members in
            let top = members.filter { $0.client != nil }.compactMap { $0.status?.executedHeight }.max() ?? 0
            return members.indices.compactMap { index -> DevnetSummary.Lagging? in
                let member = members[index]
                let height = member.status?.executedHeight ?? 0
                let behind = top > height ? top - height : 0
                let cause: String
                if member.client == nil {
                    guard let process = member.process else {
                        // Stopped by the devnet's caller (``kill(_:)``): not a surprise.
                        return nil
                    }
                    cause =
                        process.isRunning
                        ? "its control socket does not answer" : "not running (\(process.ending ?? "ended"))"
                } else if member.stopped {
                    cause = "its process is stopped"
                } else if member.silent {
                    cause = "silent: no answer to a status request in \(Self.silenceLimit)"
                } else if behind > options.maxLagBlocks {
                    cause = member.status.map { "\($0.health)" } ?? "no status"
                } else {
                    return nil
                }
                return DevnetSummary.Lagging(index: index, executedHeight: height, behind: behind, cause: cause)
            }
        }
    }
}

/// One status report of a running devnet.
package struct DevnetProgress: Sendable {
    /// Seconds since the load started.
    package var elapsed: Double
    /// Transactions submitted per second since the last report.
    package var submittedPerSecond: Double
    /// Transactions executed per second since the last report.
    package var executedPerSecond: Double
    /// Chunks certified per second, over all validators.
    package var certificatesPerSecond: Double
    /// Blocks ordered per second.
    package var blocksPerSecond: Double
    /// Median latency from submission to execution since the last report.
    package var p50: Duration?
    /// 99th percentile latency since the last report.
    package var p99: Duration?
    /// The chain's height.
    package var height: UInt64
    /// Transactions submitted and not yet executed.
    package var pending: Int
    /// Each validator's store size.
    package var storeBytes: [UInt64]
    /// Validators running.
    package var validatorsUp: Int
    /// Validators in the devnet.
    package var validators: Int
    /// Transactions submitted since the run started.
    package var submitted = 0
    /// Transactions executed since the run started.
    package var executed = 0
    /// Chunks certified since the run started, over all validators.
    package var certificates: UInt64 = 0
    /// Blocks ordered since the run started.
    package var blocks = 0
    /// Indices of the running validators that report a problem (see their status and log).
    package var unhealthy: [Int] = []
    /// Indices of the running validators that do not answer (stopped, or silent; see ``Devnet/silenceLimit``).
    package var silent: [Int] = []
    /// Indices of the validators whose process ended without the devnet stopping it (restarted when ``DevnetOptions/restartDied``).
    package var down: [Int] = []
    /// Set while the load waits for the chain's time to catch up with the
    /// clock (see `Devnet.catchUpChainTime(report:)`): how far behind it is.
    package var chainLag: Duration?
    /// How close to the clock the chain's time must come for the load to start.
    package var chainLagAllowed: Duration?
    /// At the last second's pace, how long the catching up has left.
    package var catchUpLeft: Duration?

    /// The report as one line.
    package var line: String {
        if let chainLag {
            let allowed = chainLagAllowed.map { String(format: " (within %g s)", $0.seconds) } ?? ""
            return String(format: "%5.1fs", elapsed)
                + "  catching up: chain time \(chainLagText(milliseconds: Int64(chainLag.milliseconds))) behind the clock"
                + String(format: ", blocks/s %.0f", blocksPerSecond)
                + "  height \(height); the load starts once it is close\(allowed)"
                + (catchUpLeft.map { "; about \(chainLagText(milliseconds: Int64($0.milliseconds))) left" } ?? "")
                + " (--reset starts a new chain)"
        }
        func rate(_ value: Double) -> String { String(format: "%.0f", value) }
        func ms(_ value: Duration?) -> String { value.map { String(format: "%.0fms", $0.milliseconds) } ?? "-" }
        let megabytes = storeBytes.map { String(format: "%.1f", Double($0) / 1_048_576) }.joined(separator: "/")
        return String(format: "%5.1fs", elapsed)
            + "  tx/s in \(rate(submittedPerSecond)) out \(rate(executedPerSecond))"
            + "  certs/s \(rate(certificatesPerSecond))  blocks/s \(rate(blocksPerSecond))"
            + "  p50 \(ms(p50)) p99 \(ms(p99))  height \(height)  pending \(pending)"
            + "  stores \(megabytes) MiB  up \(validatorsUp)/\(validators)"
            + (unhealthy.isEmpty ? "" : "  UNHEALTHY " + unhealthy.map { "node\($0)" }.joined(separator: ","))
            + (silent.isEmpty ? "" : "  SILENT " + silent.map { "node\($0)" }.joined(separator: ","))
            + (down.isEmpty ? "" : "  DOWN " + down.map { "node\($0)" }.joined(separator: ","))
    }
}

extension Duration {
    /// The duration in seconds.
    package var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    /// The duration in milliseconds.
    package var milliseconds: Double { seconds * 1_000 }
}
