/// A slot number: the index of a `Rules.slotDuration`-long stretch of chain
/// time. A named type so a slot cannot be passed where a time (ms) or a
/// height is meant; integer literals read as slots (`slot: 20`).
public struct Slot: Sendable, Hashable, Comparable, Codable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    /// The slot's number.
    public var number: UInt64

    /// Slot `number`.
    public init(_ number: UInt64) { self.number = number }

    public init(integerLiteral value: UInt64) { number = value }

    /// The last slot there is.
    public static let max = Slot(.max)

    public static func < (lhs: Slot, rhs: Slot) -> Bool { lhs.number < rhs.number }

    public var description: String { "slot \(number)" }
}
