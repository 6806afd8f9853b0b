import DSMRDevnet
import DSMRNodeRuntime
import DemoVM
import Foundation

/// Rows `byzantine-<behaviour>`: a devnet of 4 processes over TCP on
/// loopback in which validator 3 is `dsmr-byzantine` misbehaving that way,
/// under the same offered load as an honest devnet run first in the same
/// invocation. `value` is the rate at which transfers routed to the three
/// honest validators executed; `baseline` the same rate in the honest run;
/// the goal is a ratio of at least 0.8. The notes give every honest node's
/// peak resident memory, and the row fails if the honest roots differ.
enum ByzantineRows {
    static let goal = 0.8
    static let byzantineIndex = 3

    static func run(_ rows: [RowName], _ context: BenchContext) async throws -> [Row] {
        guard let node = DevnetRow.siblingExecutable("dsmr-node"),
            let byzantine = DevnetRow.siblingExecutable("dsmr-byzantine")
        else {
            return rows.map { name in
                var row = Row(name, unit: "tx/s", value: nil)
                row.notes = [
                    "not available: build dsmr-node and dsmr-byzantine next to dsmr-bench (swift build -c release)"
                ]
                return row
            }
        }
        let quick = context.scale.quick
        let rate = quick ? 200 : 400
        let seconds = quick ? 4.0 : 15.0
        let honest = try await measure(
            context, name: "honest", node: node, override: nil, rate: rate, seconds: seconds)
        var result: [Row] = []
        for name in rows {
            guard let behaviour = name.byzantineBehaviour else { continue }
            let run = try await measure(
                context, name: behaviour, node: node,
                override: NodeOverride(executable: byzantine, environment: ["DSMR_BYZANTINE": behaviour]),
                rate: rate, seconds: seconds)
            var row = Row(
                name, unit: "tx/s", value: run.honestRate, baseline: honest.honestRate, baselineLabel: "honest run")
            row.goals = [
                Goal(text: "ratio >= \(fixed(goal, decimals: 1))", met: run.honestRate >= goal * honest.honestRate)
            ]
            row.notes = [
                "\(rate) tx/s offered for \(pretty(seconds)) s; honest-routed transfers \(run.executed) of "
                    + "\(run.submitted) executed, \(run.lost) lost; slowest \(pretty(run.slowest)) ms; peak memory "
                    + "of the honest nodes \(run.honestMemory.map { "\($0 >> 20)" }.joined(separator: "/")) MiB "
                    + "(honest run: \(honest.honestMemory.map { "\($0 >> 20)" }.joined(separator: "/")) MiB)"
            ]
            row.extra = [
                ("peak_honest_mib", Double((run.honestMemory.max() ?? 0) >> 20)),
                ("peak_honest_baseline_mib", Double((honest.honestMemory.max() ?? 0) >> 20)),
                ("lost", Double(run.lost)), ("slowest_ms", run.slowest),
            ]
            result.append(row)
        }
        return result
    }

    struct Measured {
        var honestRate: Double
        var submitted: Int
        var executed: Int
        var lost: Int
        var slowest: Double
        var honestMemory: [UInt64]
    }

    /// One devnet run; what happened to the transfers routed to the honest validators.
    static func measure(
        _ context: BenchContext, name: String, node: String, override: NodeOverride?, rate: Int, seconds: Double
    ) async throws -> Measured {
        var options = DevnetOptions(
            directory: try context.workspace.directory("byzantine-\(name)"), executable: node, provider: DemoProvider())
        options.validators = 4
        options.statusInterval = .milliseconds(500)
        options.drainTimeout = .seconds(15)
        options.transactionRate = rate
        options.duration = .milliseconds(Int64(seconds * 1_000))
        if let override { options.overrides[byzantineIndex] = override }
        let devnet = try Devnet(options)
        let summary = try await devnet.run { _ in }
        let honest = summary.nodes.filter { $0.index != byzantineIndex }
        let roots = Set(honest.map(\.stateRoot))
        guard roots.count == 1, roots.first! != nil else {
            throw BenchError("byzantine-\(name): the honest validators' state roots differ")
        }
        let executed = honest.reduce(0) { $0 + $1.routed.executed }
        return Measured(
            honestRate: Double(executed) / max(summary.seconds, 0.001),
            submitted: honest.reduce(0) { $0 + $1.routed.submitted }, executed: executed,
            lost: honest.reduce(0) { $0 + $1.routed.lost },
            slowest: honest.map(\.routed.slowestMilliseconds).max() ?? 0,
            honestMemory: honest.map { $0.peakResidentBytes ?? 0 })
    }
}
