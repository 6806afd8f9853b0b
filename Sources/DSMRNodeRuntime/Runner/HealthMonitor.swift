import Logging
import Metrics
import Synchronization

/// Keeps the problems of each of the node's areas, says each one once,
/// loudly, when it appears or its cause changes (not at every retry), and
/// says when it is gone.
final class HealthMonitor: Sendable {
    /// What part of the node has a problem.
    enum Area: String, CaseIterable, Sendable {
        case store, acceptance, execution
    }

    private struct Problem: Equatable {
        var condition: NodeHealth.Condition
        var cause: String
    }

    private let problems = Mutex<[Area: Problem]>([:])
    private let logger: Logger
    private let gauge = Gauge(label: "dsmr_health")

    init(logger: Logger) {
        self.logger = logger
        gauge.record(0)
    }

    /// The node's health now: the worst condition, and every cause.
    var health: NodeHealth {
        problems.withLock { problems in
            guard let worst = problems.values.map(\.condition).max() else { return .healthy }
            let causes = Area.allCases.compactMap { area in problems[area].map { "\(area.rawValue): \($0.cause)" } }
            return NodeHealth(condition: worst, cause: causes.joined(separator: "; "))
        }
    }

    /// Records that `area` has a problem; logs it at error level (critical
    /// when failing) only when it is new or its cause changed.
    func report(_ area: Area, _ condition: NodeHealth.Condition, _ cause: String) {
        let new = Problem(condition: condition, cause: cause)
        let changed = problems.withLock { problems in
            defer { problems[area] = new }
            return problems[area] != new
        }
        guard changed else { return }
        let level: Logger.Level = condition == .failing ? .critical : .error
        logger.log(level: level, "node \(condition): \(area.rawValue): \(cause)")
        gauge.record(Int64(health.condition.rawValue))
    }

    /// Records that `area` works again; logs it when it had a problem.
    func clear(_ area: Area) {
        let had = problems.withLock { $0.removeValue(forKey: area) }
        guard let had else { return }
        logger.notice("node recovered: \(area.rawValue) works again (was: \(had.cause))")
        gauge.record(Int64(health.condition.rawValue))
    }
}
