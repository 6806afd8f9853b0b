/// The validators of one epoch, sorted by node id.
///
/// A validator's position in this order is its bit in certificates' signer
/// bit sets.
public struct ValidatorSet: Hashable, Sendable {
    /// The epoch this set validates.
    public let epoch: UInt64
    /// The validators, sorted by node id.
    public let validators: [Validator]
    /// The sum of all weights.
    public let totalWeight: UInt64
    /// SHA-256 over the epoch and every validator's id, key and weight: equal
    /// fingerprints mean equal sets.
    public let fingerprint: [UInt8]
    private let indexByID: [NodeID: Int]

    /// Sorts `validators` by node id.
    ///
    /// - Throws: ``ValidatorSetError`` for an empty set, a repeated node id, a
    ///   zero weight or a total weight past `UInt64.max`.
    public init(epoch: UInt64, validators: [Validator]) throws(ValidatorSetError) {
        guard !validators.isEmpty else {
            throw ValidatorSetError(code: .empty, message: "epoch \(epoch) has no validators")
        }
        let sorted = validators.sorted { $0.nodeID < $1.nodeID }
        var total: UInt64 = 0
        var indexByID: [NodeID: Int] = [:]
        indexByID.reserveCapacity(sorted.count)
        for (index, validator) in sorted.enumerated() {
            if index > 0 && sorted[index - 1].nodeID == validator.nodeID {
                throw ValidatorSetError(code: .duplicate, message: "validator \(validator.nodeID) appears twice")
            }
            guard validator.weight > 0 else {
                throw ValidatorSetError(code: .zeroWeight, message: "validator \(validator.nodeID) has weight 0")
            }
            let (sum, overflow) = total.addingReportingOverflow(validator.weight)
            if overflow {
                throw ValidatorSetError(code: .weightOverflow, message: "total weight overflows UInt64")
            }
            total = sum
            indexByID[validator.nodeID] = index
        }
        self.epoch = epoch
        self.validators = sorted
        self.totalWeight = total
        self.indexByID = indexByID
        var writer = CanonicalWriter(capacity: 8 + sorted.count * 100)
        writer.write(epoch)
        for validator in sorted {
            writer.write(validator.nodeID)
            writer.writeLengthPrefixed(validator.publicKey)
            writer.write(validator.weight)
        }
        self.fingerprint = sha256(writer.bytes).withUnsafeBytes { Array($0) }
    }

    /// The number of validators.
    public var count: Int { validators.count }

    /// The position of `id` in node-id order, or nil when it is not in the set.
    public func index(of id: NodeID) -> Int? { indexByID[id] }

    /// The validator with `id`, or nil.
    public func validator(_ id: NodeID) -> Validator? {
        indexByID[id].map { validators[$0] }
    }

    /// Whether `id` is in the set.
    public func contains(_ id: NodeID) -> Bool { indexByID[id] != nil }

    /// Whether `signedWeight` reaches `quorum` of ``totalWeight``.
    public func hasQuorum(signedWeight: UInt64, quorum: Quorum = .default) -> Bool {
        quorum.isMet(signedWeight: signedWeight, totalWeight: totalWeight)
    }

    public static func == (a: ValidatorSet, b: ValidatorSet) -> Bool {
        a.epoch == b.epoch && a.validators == b.validators
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(epoch)
        hasher.combine(validators)
    }
}
