/// Proof that a quorum of an epoch's validators stored a chunk: the reference
/// they signed, the epoch, which validators signed, and their signatures in
/// signer-index order.
///
/// The epoch is bound twice: it must be the epoch the rules give the
/// reference's slot (``Rules/epoch(ofSlot:)``), and every signature covers it
/// (``SignatureShare/message(for:epoch:domain:)``). A certificate relabelled
/// with another epoch fails verification both ways.
public struct ChunkCertificate: Hashable, Sendable {
    /// The chunk reference every signature covers.
    public let reference: ChunkReference
    /// The epoch whose validator set the signer bits index: that of the reference's slot.
    public let epoch: UInt64
    /// Which validators of the epoch signed, by index in node-id order.
    public let signers: SignerBitSet
    /// One signature per signer, in ascending signer-index order.
    public let signatures: [[UInt8]]

    /// Assembles a certificate from its parts.
    ///
    /// - Throws: ``CertificateError/Code/signatureCountMismatch`` unless there
    ///   is exactly one signature per signer.
    public init(
        reference: ChunkReference, epoch: UInt64, signers: SignerBitSet, signatures: [[UInt8]]
    ) throws(CertificateError) {
        guard signatures.count == signers.count else {
            throw CertificateError(
                code: .signatureCountMismatch,
                message: "\(signatures.count) signatures for \(signers.count) signers")
        }
        precondition(signatures.allSatisfy { $0.count <= Int(UInt32.max) }, "signature too long")
        self.reference = reference
        self.epoch = epoch
        self.signers = signers
        self.signatures = signatures
    }

    private init(unchecked reference: ChunkReference, epoch: UInt64, signers: SignerBitSet, signatures: [[UInt8]]) {
        self.reference = reference
        self.epoch = epoch
        self.signers = signers
        self.signatures = signatures
    }

    /// Combines shares for `reference` into a certificate over `validators`.
    ///
    /// The certificate's epoch is the one `rules` give the reference's slot;
    /// `validators` must be that epoch's set and every share must sign that
    /// epoch. Shares' signatures are not checked here (check each on receipt
    /// with ``SignatureShare/verify(publicKey:rules:domain:verifier:)``, or the
    /// result with ``verify(against:rules:domain:verifier:)``).
    ///
    /// - Throws: ``CertificateError`` when `validators` or a share is of
    ///   another epoch, when a share signs another reference, comes from
    ///   outside the set or from a signer seen before, or when the shares'
    ///   weight does not reach `rules.quorum`.
    public static func aggregate(
        reference: ChunkReference, shares: [SignatureShare], validators: ValidatorSet, rules: Rules
    ) throws(CertificateError) -> ChunkCertificate {
        let epoch = rules.epoch(ofSlot: reference.slot)
        guard validators.epoch == epoch else {
            throw CertificateError(
                code: .wrongEpoch,
                message: "chunk \(reference.chunkID) of slot \(reference.slot) is in epoch \(epoch), "
                    + "not the validator set's epoch \(validators.epoch)")
        }
        var byIndex: [Int: [UInt8]] = [:]
        var weight: UInt64 = 0
        for share in shares {
            guard share.reference == reference else {
                throw CertificateError(
                    code: .referenceMismatch, signer: share.signer,
                    message:
                        "share of \(share.signer) signs chunk \(share.reference.chunkID), not \(reference.chunkID)")
            }
            guard share.epoch == epoch else {
                throw CertificateError(
                    code: .wrongEpoch, signer: share.signer,
                    message: "share of \(share.signer) signs epoch \(share.epoch), not \(epoch)")
            }
            guard let index = validators.index(of: share.signer) else {
                throw CertificateError(
                    code: .signerOutsideSet, signer: share.signer,
                    message: "\(share.signer) is not a validator of epoch \(validators.epoch)")
            }
            guard byIndex.updateValue(share.signature, forKey: index) == nil else {
                throw CertificateError(
                    code: .duplicateSigner, signer: share.signer, message: "two shares from \(share.signer)")
            }
            weight += validators.validators[index].weight
        }
        guard validators.hasQuorum(signedWeight: weight, quorum: rules.quorum), !byIndex.isEmpty else {
            throw CertificateError(
                code: .insufficientWeight,
                message: "signed weight \(weight) of \(validators.totalWeight) is below quorum \(rules.quorum)")
        }
        let order = byIndex.keys.sorted()
        return ChunkCertificate(
            unchecked: reference, epoch: validators.epoch, signers: SignerBitSet(indices: order),
            signatures: order.map { byIndex[$0]! })
    }
}

extension ChunkCertificate: CanonicalValue {
    public static let formatVersion: UInt8 = 1
    public static let codecName: StaticString = "chunkCertificate"

    /// `reference body (68) || epoch (u64) || signers length (u32) || signers ||
    /// one (length (u32) || signature) per set bit, in bit order`.
    public func encode(to writer: inout CanonicalWriter) {
        reference.encode(to: &writer)
        writer.write(epoch)
        writer.writeLengthPrefixed(signers.bytes)
        for signature in signatures { writer.writeLengthPrefixed(signature) }
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        let reference = try reader.nested("reference") { (reader) throws(CodecError) in
            try ChunkReference(from: &reader)
        }
        let epoch = try reader.readUInt64("epoch")
        let limits = reader.limits
        let bits = try reader.readLengthPrefixed("signers", limit: (limits.maxValidators + 7) / 8)
        guard let last = bits.last else {
            throw reader.error(.nonCanonical, "signers", "no signers")
        }
        guard last != 0 else {
            throw reader.error(.nonCanonical, "signers", "bit set has a trailing zero byte")
        }
        let signers = SignerBitSet(canonical: bits)
        if signers.highestIndex >= limits.maxValidators {
            throw reader.error(
                .limitExceeded, "signers",
                "signer index \(signers.highestIndex) exceeds limit of \(limits.maxValidators) validators")
        }
        let count = signers.count
        if count * 4 > reader.remaining {
            throw reader.error(
                .lengthExceedsRemaining, "signatures",
                "\(count) signers need at least \(count * 4) bytes, only \(reader.remaining) remain")
        }
        var signatures: [[UInt8]] = []
        signatures.reserveCapacity(count)
        try reader.nested("signatures") { (reader) throws(CodecError) in
            for index in 0..<count {
                signatures.append(
                    try reader.element(index) { (reader) throws(CodecError) in
                        try reader.readLengthPrefixed(nil, limit: limits.maxSignatureBytes)
                    })
            }
        }
        self.init(unchecked: reference, epoch: epoch, signers: signers, signatures: signatures)
    }
}
