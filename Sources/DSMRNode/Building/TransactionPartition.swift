import Crypto
import DSMR

/// Assigns each transaction to one validator, by its sponsor and the
/// validators' stake, so that every node puts it in the same validator's
/// chunk and in no other.
///
/// The sponsor's SHA-256 (first 8 bytes, big-endian) modulo the total
/// weight is a point on a ring of circumference `totalWeight`, cut into
/// arcs of each validator's weight in node-id order; the point wraps
/// around the ring, and the validator whose arc holds it gets the
/// transaction.
public enum TransactionPartition {
    /// The validator that takes transactions of `sponsor`.
    ///
    /// - Throws: ``PartitionError`` for an empty list, a total weight of zero,
    ///   or weights whose sum overflows.
    public static func validator(
        for sponsor: [UInt8], among validators: [Validator]
    ) throws(PartitionError)
        -> NodeID
    {
        guard !validators.isEmpty else { throw PartitionError(.empty, "no validators to assign transactions to") }
        let sorted = validators.sorted { $0.nodeID < $1.nodeID }
        var total: UInt64 = 0
        for validator in sorted {
            let (sum, overflow) = total.addingReportingOverflow(validator.weight)
            guard !overflow else { throw PartitionError(.weightOverflow, "the validators' weights overflow UInt64") }
            total = sum
        }
        guard total > 0 else { throw PartitionError(.zeroWeight, "the validators' total weight is zero") }
        let point = ring(sponsor) % total
        var end: UInt64 = 0
        for validator in sorted {
            end += validator.weight
            if point < end { return validator.nodeID }
        }
        preconditionFailure("point \(point) lies below the total weight \(total)")
    }

    /// The validator of `set` that takes transactions of `sponsor`.
    public static func validator(for sponsor: [UInt8], in set: ValidatorSet) -> NodeID {
        // A ValidatorSet is never empty, has no zero weight and no overflow.
        try! validator(for: sponsor, among: set.validators)
    }

    private static func ring(_ sponsor: [UInt8]) -> UInt64 {
        SHA256.hash(data: sponsor).withUnsafeBytes { $0.prefix(8).reduce(0) { $0 << 8 | UInt64($1) } }
    }
}

/// Transactions cannot be assigned to validators.
public struct PartitionError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Why.
    public enum Code: Hashable, Sendable {
        /// There are no validators.
        case empty
        /// Every validator has weight zero.
        case zeroWeight
        /// The weights' sum does not fit a `UInt64`.
        case weightOverflow
    }

    /// Why.
    public let code: Code
    /// Details.
    public let message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "partition: \(message)" }
}
