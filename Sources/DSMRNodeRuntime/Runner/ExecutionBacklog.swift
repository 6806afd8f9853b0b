import Synchronization

/// What the execution lane owes: whether a run is queued and not yet
/// started, and when each accepted block not yet executed began its
/// acceptance (for the accept-and-execute stage's timing).
final class ExecutionBacklog: Sendable {
    private struct State {
        var queued = false
        var acceptStarts: [UInt64: ContinuousClock.Instant] = [:]
    }

    private let state = Mutex(State())

    /// At most this many acceptances are timed at once; beyond it the
    /// oldest are forgotten (their blocks are then not timed).
    static let maxTracked = 1_024

    /// Notes that the block at `height` began its acceptance at `started`.
    /// Returns whether a run must be queued: none is waiting to start.
    func accepted(height: UInt64, started: ContinuousClock.Instant) -> Bool {
        state.withLock { state in
            state.acceptStarts[height] = started
            if state.acceptStarts.count > Self.maxTracked, let oldest = state.acceptStarts.keys.min() {
                state.acceptStarts[oldest] = nil
            }
            defer { state.queued = true }
            return !state.queued
        }
    }

    /// A run is starting: blocks accepted from now on need another.
    func runStarting() {
        state.withLock { $0.queued = false }
    }

    /// How long ago each of `heights` began its acceptance, now that they
    /// are executed; each is forgotten.
    func executed(_ heights: [UInt64]) -> [Duration] {
        let now = ContinuousClock.now
        return state.withLock { state in
            heights.compactMap { height in state.acceptStarts.removeValue(forKey: height).map { $0.duration(to: now) } }
        }
    }
}
