/// A point in chain time: milliseconds on the chain's clock, the unit of
/// block timestamps, slot boundaries and chunk expiries. A named type so a
/// time cannot be passed where a slot or a height is meant.
public struct ChainTime: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Milliseconds on the chain's clock.
    public var milliseconds: Int64

    /// The time `milliseconds` ms on the chain's clock.
    public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    /// The time `value` ms on the chain's clock.
    public static func milliseconds(_ value: Int64) -> ChainTime { ChainTime(milliseconds: value) }

    /// The time `value` s on the chain's clock.
    public static func seconds(_ value: Int64) -> ChainTime { ChainTime(milliseconds: value * 1_000) }

    public static func < (lhs: ChainTime, rhs: ChainTime) -> Bool { lhs.milliseconds < rhs.milliseconds }

    public var description: String { "\(milliseconds) ms" }
}
