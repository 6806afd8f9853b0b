import DSMR
import Foundation
import Synchronization

/// The node's local clock, in chain time: what "now" is when checking how
/// far ahead a chunk's slot or a block's timestamp lies.
public protocol NodeClock: Sendable {
    /// The current time.
    func now() -> ChainTime
}

/// The system's wall clock as chain time (milliseconds since 1970).
public struct SystemClock: NodeClock {
    /// The wall clock.
    public init() {}

    public func now() -> ChainTime {
        .milliseconds(Int64((Date().timeIntervalSince1970 * 1_000).rounded(.down)))
    }
}

/// A clock that moves only when told: for tests and simulations, so runs
/// do not depend on how fast the machine is.
public final class ManualClock: NodeClock {
    private let time: Mutex<ChainTime>

    /// A clock showing `start`.
    public init(_ start: ChainTime = .milliseconds(0)) { time = Mutex(start) }

    public func now() -> ChainTime { time.withLock { $0 } }

    /// Sets the time to `time` (never backwards).
    public func set(_ newTime: ChainTime) { time.withLock { $0 = max($0, newTime) } }

    /// Moves the time forward by `milliseconds`.
    public func advance(by milliseconds: Int64) { time.withLock { $0.milliseconds += milliseconds } }
}
