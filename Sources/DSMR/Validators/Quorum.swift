/// The fraction of total stake whose signatures make a certificate.
///
/// A signed weight is a quorum when `signed * denominator >= total * numerator`,
/// computed without overflow in 128 bits.
public struct Quorum: Hashable, Sendable, CustomStringConvertible {
    /// The fraction's numerator.
    public var numerator: UInt64
    /// The fraction's denominator.
    public var denominator: UInt64

    /// The fraction `numerator / denominator`; see ``isValid``.
    public init(numerator: UInt64, denominator: UInt64) {
        self.numerator = numerator
        self.denominator = denominator
    }

    /// 67/100: for equal weights, 2f+1 of 3f+1 validators.
    public static let `default` = Quorum(numerator: 67, denominator: 100)

    /// Whether `signedWeight` out of `totalWeight` reaches this quorum.
    public func isMet(signedWeight: UInt64, totalWeight: UInt64) -> Bool {
        let signed = signedWeight.multipliedFullWidth(by: denominator)
        let needed = totalWeight.multipliedFullWidth(by: numerator)
        return (signed.high, signed.low) >= (needed.high, needed.low)
    }

    /// Whether the fraction is safe for Byzantine agreement: more than 2/3, at most 1.
    public var isValid: Bool {
        guard denominator > 0, numerator <= denominator else { return false }
        let thrice = numerator.multipliedFullWidth(by: 3)
        let twice = denominator.multipliedFullWidth(by: 2)
        return (thrice.high, thrice.low) > (twice.high, twice.low)
    }

    /// For example `67/100`.
    public var description: String { "\(numerator)/\(denominator)" }
}
