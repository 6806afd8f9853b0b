import DSMRDevnet
import DSMRNodeRuntime
import DemoVM
import Foundation
import Synchronization

/// Row `devnet`: a real devnet, 4 `dsmr-node` processes (the binary next to
/// `dsmr-bench`) over TCP on 127.0.0.1 with synced stores and the ordering
/// driver, executing DemoVM transfers, against the rate the least Ed25519
/// work (``Ed25519Work``) allows on every core, measured in the same run.
/// `ratio` is value / baseline.
///
/// Method, in two phases on one devnet:
///
/// 1. Saturated: transfers are offered at the rate that checking their own
///    signatures on 4 nodes alone would allow on every core, which is more
///    than the devnet executes; submission pauses while more than 1.5 s of
///    that rate is pending, so the backlog stays bounded. The value is the
///    rate executed from the first block after a warm-up to the last one
///    before the load stops.
/// 2. Sustained: 90% of that rate is offered; p50 and p99 are the latencies
///    from submission to execution of every transfer this phase submitted.
///
/// Transfers are signed before each phase starts: signing is the clients'
/// work, and done during the phase it would take the validators' CPU. The
/// baseline counts the transfers and certified chunks of phase 1, with the
/// faster of two Ed25519 measurements (CPU time of one thread), before the
/// devnet starts and after it stops. Because the machine may be shared,
/// the row also reports, over phase 1's window, the CPU the node processes
/// ran on (`node_cores`), how long their threads waited for a CPU
/// (`node_wait_cores`: other load took it), and the share of their CPU
/// time the least Ed25519 work accounts for (`ed25519_share`). The run
/// fails if the validators' state roots differ.
///
/// Row `devnet-plaintext` is the same devnet with TLS off between the
/// validators (`LinkSecurity.plaintextForMeasurementOnly`, through the
/// environment variable `NodeRunner.plaintextLinksVariable`, on every
/// node), run right after `devnet` in the same run: what TLS costs is
/// `devnet` / `devnet-plaintext` (`tls_ratio`, goal >= 0.95).
///
/// Row `devnet-etcd` is the same devnet (TLS) with the validators ordering
/// through the devnet's own 3 etcd members instead of the driver, run after
/// `devnet`: its goals are a ratio of at least 0.7 to the Ed25519 work and
/// at least 0.9 of the driver's rate (`driver_ratio`). After its phases it
/// SIGKILLs the validator leading the etcd election and reports the time to
/// the next block any other validator accepts (`failover_ms`).
enum DevnetRow {
    static let validators = 4
    static let goal = 0.6
    /// The least share of the plaintext devnet's rate the TLS devnet keeps.
    static let tlsGoal = 0.95
    /// The least ratio to the Ed25519 work of the devnet ordering through etcd.
    static let etcdGoal = 0.7
    /// The least share of the driver's rate the devnet ordering through etcd keeps.
    static let etcdDriverGoal = 0.9

    /// How a devnet row runs.
    enum Variant {
        case tls, plaintext, etcd

        var name: RowName {
            switch self {
            case .tls: .devnet
            case .plaintext: .devnetPlaintext
            case .etcd: .devnetEtcd
            }
        }
    }

    /// The rows of `selected` among `devnet`, `devnet-etcd` and `devnet-plaintext`, in that order.
    static func run(_ selected: Set<RowName>, _ context: BenchContext) async throws -> [Row] {
        var rows: [Row] = []
        var tls: Double?
        if selected.contains(.devnet) {
            let row = try await run(context, .tls)
            tls = row.value
            rows.append(row)
        }
        if selected.contains(.devnetEtcd) {
            var row = try await run(context, .etcd)
            if let tls, let etcd = row.value {
                compare(&row, etcd, over: tls, "devnet-etcd / devnet", goal: etcdDriverGoal, extra: "driver_ratio")
            }
            rows.append(row)
        }
        if selected.contains(.devnetPlaintext) {
            var row = try await run(context, .plaintext)
            if let tls, let plaintext = row.value {
                compare(&row, tls, over: plaintext, "devnet / devnet-plaintext", goal: tlsGoal, extra: "tls_ratio")
            }
            rows.append(row)
        }
        return rows
    }
    /// Adds to `row` the goal `value` / `base` >= `goal`, named `text`, and the ratio as `extra`.
    static func compare(
        _ row: inout Row, _ value: Double, over base: Double, _ text: String, goal: Double, extra: String
    ) {
        guard base > 0 else { return }
        let ratio = value / base
        row.goals.append(
            Goal(text: "\(text) = \(fixed(ratio, decimals: 2)) >= \(fixed(goal, decimals: 2))", met: ratio >= goal))
        row.extra.append((extra, ratio))
    }

    /// The share of the saturated rate offered in phase 2.
    static let sustainedShare = 0.9

    static func run(_ context: BenchContext, _ variant: Variant) async throws -> Row {
        let name = variant.name
        let plaintext = variant == .plaintext
        guard let executable = siblingExecutable("dsmr-node") else {
            var row = Row(name, unit: "tx/s", value: nil)
            row.notes = ["not available: no dsmr-node next to dsmr-bench (swift build -c release --product dsmr-node)"]
            return row
        }
        let quick = context.scale.quick
        let cores = Double(Machine.current().cores)
        let before = try Ed25519Work.measure()
        // The rate if each node checking every transfer's signature were all the work.
        let ceiling = cores * before.verifiesPerSecond / Double(validators)

        var options = DevnetOptions(
            directory: try context.workspace.directory(name.rawValue), executable: executable, provider: DemoProvider())
        options.validators = validators
        options.statusInterval = .milliseconds(100)
        options.drainTimeout = .seconds(quick ? 5 : 15)
        options.maxPending = Int(ceiling * 1.5)
        if variant == .etcd { options.ordering = .etcd }
        if plaintext {
            let override = NodeOverride(
                executable: executable, environment: [NodeRunner.plaintextLinksVariable: "1"])
            for index in 0..<validators { options.overrides[index] = override }
        }
        let devnet = try Devnet(options)
        try await devnet.start()
        let saturated: Phase
        let sustained: Phase
        let failover: Duration?
        let stages: [(stage: LatencyStage, milliseconds: Double?)]
        do {
            saturated = try await phase(devnet, rate: Int(ceiling), seconds: quick ? 5 : 12, warmUp: quick ? 0.5 : 2)
            let stagesBefore = try StageBudget.read(devnet.metricsAddresses)
            sustained = try await phase(
                devnet, rate: Int(saturated.rate * sustainedShare), seconds: quick ? 4 : 15, warmUp: quick ? 0.5 : 2)
            stages = try StageBudget.read(devnet.metricsAddresses).means(since: stagesBefore)
            failover = variant == .etcd ? try await EtcdFailover.measure(devnet) : nil
            await devnet.stopNodes()
        } catch {
            await devnet.stopNodes()
            throw error
        }
        for summary in [saturated.summary, sustained.summary] where !summary.rootsAgree {
            throw BenchError("devnet: the validators' state roots differ at height \(summary.commonHeight)")
        }
        let work = before.best(try Ed25519Work.measure())
        let summary = saturated.summary
        let transfers = Double(summary.executed)
        let chunks = Double(summary.certificates)
        let limit = work.limit(transfers: transfers, chunks: chunks, cores: cores)
        // The least Ed25519 CPU for what executed in phase 1's window, against the CPU the nodes used then.
        let leastPerTransfer = work.leastSeconds(transfers: transfers, chunks: chunks, cores: 1) / transfers
        let share = leastPerTransfer * saturated.rate * saturated.window / max(saturated.nodeCPU, 0.001)
        let nodeCores = saturated.nodeCPU / saturated.window
        let waitCores = saturated.nodeWait / saturated.window

        var row = Row(
            name, unit: "tx/s", value: saturated.rate, baseline: limit, baselineLabel: "Ed25519 work alone")
        let least = variant == .etcd ? etcdGoal : goal
        row.goals = [Goal(text: "ratio >= \(fixed(least, decimals: 1))", met: saturated.rate >= least * limit)]
        let p50 = sustained.summary.p50Milliseconds ?? 0
        let p99 = sustained.summary.p99Milliseconds ?? 0
        row.notes = [
            "\(validators) dsmr-node processes over \(plaintext ? "plaintext TCP" : "TLS 1.3") on loopback, "
                + (variant == .etcd ? "ordering through 3 etcd members, " : "ordered by the driver, ")
                + "synced stores, transfers signed ahead; "
                + "saturated: \(summary.executed) transfers in \(summary.certificates) certified chunks, "
                + "\(summary.blocks) blocks; the nodes ran on \(fixed(nodeCores, decimals: 2)) of \(Int(cores)) cores "
                + "(\(Int((share * 100).rounded()))% of that the least Ed25519 work) and waited for a CPU "
                + "\(fixed(waitCores, decimals: 2)) core-equivalents more; "
                + "at \(pretty(sustained.offered)) tx/s offered (90%): p50 \(pretty(p50)) ms, p99 \(pretty(p99)) ms"
        ]
        row.extra = [
            ("p50_ms", p50), ("p99_ms", p99), ("sustained_offered", sustained.offered),
            ("sustained_executed", sustained.rate), ("chunks", chunks), ("blocks", Double(summary.blocks)),
            ("node_cores", nodeCores), ("node_wait_cores", waitCores), ("ed25519_share", share),
        ]
        let timed = stages.compactMap { stage in stage.milliseconds.map { (stage.stage, $0) } }
        row.notes.append(
            "latency budget at 90% (mean per stage, every validator): "
                + timed.map { "\(StageBudget.label($0.0)) \(fixed($0.1, decimals: 1)) ms" }.joined(separator: ", ")
                + "; sum \(fixed(timed.map(\.1).reduce(0, +), decimals: 1)) ms")
        for (stage, milliseconds) in timed { row.extra.append(("stage_\(stage.rawValue)_ms", milliseconds)) }
        if let failover {
            row.notes.append(
                "the election leader's validator SIGKILLed: next block in \(pretty(failover.seconds * 1_000)) ms")
            row.extra.append(("failover_ms", failover.seconds * 1_000))
        }
        return row
    }

    /// One phase: its summary, the rate offered, and over its window (after
    /// the warm-up) the executed rate and the CPU seconds the nodes used.
    struct Phase {
        var summary: DevnetSummary
        var offered: Double
        var rate: Double
        var window: Double
        var nodeCPU: Double
        var nodeWait: Double
    }

    struct Sample {
        var elapsed: Double
        var executed: Int
        var nodeCPU: Double
        var nodeWait: Double
    }

    /// Signs `rate` x `seconds` transfers ahead, runs the load, and measures
    /// between the first block executed after `warmUp` (the pipeline is
    /// full then) and the last one before the load stopped.
    static func phase(_ devnet: Devnet, rate: Int, seconds: Double, warmUp: Double) async throws -> Phase {
        let inTenMinutes = Int64(Date().timeIntervalSince1970 * 1_000) + 600_000
        devnet.prepareLoad(count: Int(Double(rate) * seconds), expiry: inTenMinutes)
        let samples = Mutex<[Sample]>([])
        let summary = try await devnet.runLoad(rate: rate, duration: .milliseconds(Int64(seconds * 1_000))) {
            progress in
            let schedule = childrenSchedule()
            let sample = Sample(
                elapsed: progress.elapsed, executed: progress.executed, nodeCPU: schedule.run, nodeWait: schedule.wait)
            samples.withLock { $0.append(sample) }
        }
        // Transfers execute a block at a time: the window runs from the first
        // report after the warm-up that saw a block execute to the last one
        // before the load stopped that did.
        let all = samples.withLock { $0 }
        let executions = zip(all.dropFirst(), all).filter { $0.executed > $1.executed }.map(\.0)
        let window = executions.filter { $0.elapsed >= warmUp && $0.elapsed <= summary.seconds }
        guard let first = window.first, let last = window.last, last.elapsed > first.elapsed else {
            throw BenchError("devnet: fewer than two blocks executed between \(warmUp) s and \(summary.seconds) s")
        }
        let span = last.elapsed - first.elapsed
        let phase = Phase(
            summary: summary, offered: Double(rate), rate: Double(last.executed - first.executed) / span,
            window: span, nodeCPU: last.nodeCPU - first.nodeCPU, nodeWait: last.nodeWait - first.nodeWait)
        log(
            "devnet: offered \(rate)/s for \(pretty(summary.seconds)) s: executed \(pretty(phase.rate))/s over "
                + "\(pretty(span)) s; nodes on \(fixed(phase.nodeCPU / span, decimals: 2)) cores, waiting for "
                + "\(fixed(phase.nodeWait / span, decimals: 2)) more; p50 \(pretty(summary.p50Milliseconds ?? 0)) ms, "
                + "p99 \(pretty(summary.p99Milliseconds ?? 0)) ms; \(summary.certificates) chunks, "
                + "\(summary.blocks) blocks")
        return phase
    }

    /// The executable `name` in the directory of the running `dsmr-bench`, if it is there.
    static func siblingExecutable(_ name: String) -> String? {
        guard let own = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else {
            return nil
        }
        let path = URL(fileURLWithPath: own).deletingLastPathComponent().appendingPathComponent(name).path
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    /// Seconds this process's running children have spent on a CPU and
    /// waiting for one, over all their threads, from /proc/PID/task/TID/schedstat.
    static func childrenSchedule() -> (run: Double, wait: Double) {
        let parent = getpid()
        let manager = FileManager.default
        guard let entries = try? manager.contentsOfDirectory(atPath: "/proc") else { return (0, 0) }
        var run = 0.0
        var wait = 0.0
        for entry in entries where entry.first?.isNumber == true {
            guard let pid = Int32(entry), ProcessStat(pid: pid)?.parent == parent,
                let threads = try? manager.contentsOfDirectory(atPath: "/proc/\(entry)/task")
            else { continue }
            for thread in threads {
                // "time on a CPU (ns) time waiting for one (ns) timeslices"
                let path = "/proc/\(entry)/task/\(thread)/schedstat"
                guard let line = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
                let numbers = line.split(whereSeparator: \.isWhitespace).compactMap { Double($0) }
                guard numbers.count >= 2 else { continue }
                run += numbers[0] / 1e9
                wait += numbers[1] / 1e9
            }
        }
        return (run, wait)
    }
}
