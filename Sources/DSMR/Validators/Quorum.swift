/// The fraction of total stake whose signatures make a certificate.
///
/// A signed weight is a quorum when `signed * denominator >= total * numerator`,
/// computed without overflow in 128 bits.
///
/// Only fractions above two thirds and at most one can be made: with less
/// than a third of the stake faulty, any two quorums then share an honest
/// validator, and every certificate has more than a third of the stake from
/// honest signers that stored the chunk. A fraction of one half or less, or
/// `0/x`, which would let a single signer certify, cannot be represented.
public struct Quorum: Hashable, Sendable, CustomStringConvertible {
    /// The fraction's numerator, at least 1.
    public let numerator: UInt64
    /// The fraction's denominator, at least the numerator.
    public let denominator: UInt64

    /// The fraction `numerator / denominator`.
    ///
    /// - Throws: ``RulesError`` for the rule `quorum` unless `2/3 < numerator / denominator <= 1`
    ///   (which implies `numerator >= 1` and `denominator >= 1`).
    public init(numerator: UInt64, denominator: UInt64) throws(RulesError) {
        guard denominator > 0, numerator <= denominator,
            Self.exceedsTwoThirds(numerator: numerator, denominator: denominator)
        else {
            throw RulesError(
                rule: "quorum", message: "must be more than 2/3 and at most 1, is \(numerator)/\(denominator)")
        }
        self.init(unchecked: numerator, denominator)
    }

    private init(unchecked numerator: UInt64, _ denominator: UInt64) {
        self.numerator = numerator
        self.denominator = denominator
    }

    /// 67/100: for equal weights, 2f+1 of 3f+1 validators.
    public static let `default` = Quorum(unchecked: 67, 100)

    /// Whether `signedWeight` out of `totalWeight` reaches this quorum.
    public func isMet(signedWeight: UInt64, totalWeight: UInt64) -> Bool {
        let signed = signedWeight.multipliedFullWidth(by: denominator)
        let needed = totalWeight.multipliedFullWidth(by: numerator)
        return (signed.high, signed.low) >= (needed.high, needed.low)
    }

    private static func exceedsTwoThirds(numerator: UInt64, denominator: UInt64) -> Bool {
        let thrice = numerator.multipliedFullWidth(by: 3)
        let twice = denominator.multipliedFullWidth(by: 2)
        return (thrice.high, thrice.low) > (twice.high, twice.low)
    }

    /// For example `67/100`.
    public var description: String { "\(numerator)/\(denominator)" }
}
