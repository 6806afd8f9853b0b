import DSMR

/// A state root at a height that a quorum of the epoch's stake attested:
/// what a validator coming back trusts a snapshot against.
///
/// The signatures are each signer's ``StateAttestation`` signature, in the
/// order of the signers' indices in the epoch's validator set.
public struct StateCertificate: Hashable, Sendable {
    /// The executed height.
    public let height: UInt64
    /// The block at that height.
    public let blockID: BlockID
    /// The state root a quorum attested at it.
    public let root: StateRoot
    /// The epoch whose validator set signed.
    public let epoch: UInt64
    /// Which validators of the epoch signed.
    public let signers: SignerBitSet
    /// Their signatures, in index order.
    public let signatures: [[UInt8]]

    init(
        height: UInt64, blockID: BlockID, root: StateRoot, epoch: UInt64, signers: SignerBitSet, signatures: [[UInt8]]
    ) {
        self.height = height
        self.blockID = blockID
        self.root = root
        self.epoch = epoch
        self.signers = signers
        self.signatures = signatures
    }

    /// Joins attestations of one height, root and epoch into a certificate.
    /// Each is checked; it fails unless their stake meets `quorum`.
    ///
    /// - Throws: ``StateSyncError`` for an attestation of something else, a
    ///   signer outside the set or counted twice, a bad signature, or too
    ///   little stake.
    public static func aggregate(
        _ attestations: [StateAttestation], validators: ValidatorSet, quorum: Quorum, domain: SigningDomain
    ) throws(StateSyncError) -> StateCertificate {
        try aggregate(attestations, validators: validators, quorum: quorum, domain: domain, checkSignatures: true)
    }

    /// Joins attestations, checking their signatures only when asked (the
    /// pool checked each as it arrived).
    static func aggregate(
        _ attestations: [StateAttestation], validators: ValidatorSet, quorum: Quorum, domain: SigningDomain,
        checkSignatures: Bool
    ) throws(StateSyncError) -> StateCertificate {
        guard let first = attestations.first else {
            throw StateSyncError(.insufficientWeight, "no attestations")
        }
        var byIndex: [Int: [UInt8]] = [:]
        var weight: UInt64 = 0
        for attestation in attestations {
            guard
                attestation.height == first.height, attestation.blockID == first.blockID,
                attestation.root == first.root, attestation.epoch == first.epoch
            else {
                throw StateSyncError(
                    .mismatch,
                    "\(attestation.signer) attests \(attestation.root) at \(attestation.height), not \(first.root) at \(first.height)"
                )
            }
            if checkSignatures { try attestation.verify(validators: validators, domain: domain) }
            guard let index = validators.index(of: attestation.signer) else {
                throw StateSyncError(
                    .unknownSigner, "\(attestation.signer) is not a validator of epoch \(validators.epoch)")
            }
            guard byIndex.updateValue(attestation.signature, forKey: index) == nil else {
                throw StateSyncError(.duplicateSigner, "two attestations from \(attestation.signer)")
            }
            weight += validators.validators[index].weight
        }
        guard validators.hasQuorum(signedWeight: weight, quorum: quorum) else {
            throw StateSyncError(
                .insufficientWeight, "attested weight \(weight) of \(validators.totalWeight) is below quorum \(quorum)")
        }
        let order = byIndex.keys.sorted()
        return StateCertificate(
            height: first.height, blockID: first.blockID, root: first.root, epoch: first.epoch,
            signers: SignerBitSet(indices: order),
            signatures: order.map { byIndex[$0]! })
    }

    /// Checks every signature against `validators` (the certificate's
    /// epoch's set) and that their stake meets `quorum`.
    ///
    /// - Throws: ``StateSyncError`` naming the first thing wrong.
    public func verify(
        validators: ValidatorSet, quorum: Quorum, domain: SigningDomain,
        verifier: some SignatureVerifier = Ed25519Verifier()
    ) throws(StateSyncError) {
        guard validators.epoch == epoch else {
            throw StateSyncError(.wrongEpoch, "certificate of epoch \(epoch) judged by epoch \(validators.epoch)")
        }
        let indices = signers.indices
        guard indices.count == signatures.count else {
            throw StateSyncError(.malformed, "\(signatures.count) signatures for \(indices.count) signers")
        }
        var weight: UInt64 = 0
        let message = StateAttestation.message(
            height: height, blockID: blockID, root: root, epoch: epoch, domain: domain)
        for (index, signature) in zip(indices, signatures) {
            guard index < validators.validators.count else {
                throw StateSyncError(
                    .unknownSigner, "signer \(index) is past the \(validators.validators.count) validators")
            }
            let validator = validators.validators[index]
            guard verifier.isValid(signature: signature, message: message, publicKey: validator.publicKey) else {
                throw StateSyncError(
                    .badSignature, "\(validator.nodeID)'s signature of height \(height) does not verify")
            }
            weight += validator.weight
        }
        guard validators.hasQuorum(signedWeight: weight, quorum: quorum) else {
            throw StateSyncError(
                .insufficientWeight, "signed weight \(weight) of \(validators.totalWeight) is below quorum \(quorum)")
        }
    }
}

extension StateCertificate: CanonicalValue {
    public static let formatVersion: UInt8 = 1
    public static let codecName: StaticString = "stateCertificate"

    /// `height (u64) || block id (32) || root (32) || epoch (u64) || length
    /// (u32) || signer bits || (length (u32) || signature) per signer`.
    public func encode(to writer: inout CanonicalWriter) {
        writer.write(height)
        writer.write(blockID)
        writer.write(root)
        writer.write(epoch)
        writer.writeLengthPrefixed(signers.bytes)
        for signature in signatures { writer.writeLengthPrefixed(signature) }
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        let height = try reader.readUInt64("height")
        let blockID = try reader.read(BlockID.self, "blockID")
        let root = try reader.read(StateRoot.self, "root")
        let epoch = try reader.readUInt64("epoch")
        let limits = reader.limits
        let bits = try reader.readLengthPrefixed("signers", limit: (limits.maxValidators + 7) / 8)
        let signers = try SignerBitSet(bytes: bits)
        guard signers.highestIndex < limits.maxValidators else {
            throw reader.error(
                .limitExceeded, "signers",
                "signer index \(signers.highestIndex) exceeds limit of \(limits.maxValidators) validators")
        }
        let count = signers.count
        guard count * 4 <= reader.remaining else {
            throw reader.error(
                .lengthExceedsRemaining, "signatures", "\(count) signers need at least \(count * 4) bytes")
        }
        var signatures: [[UInt8]] = []
        signatures.reserveCapacity(count)
        for _ in 0..<count {
            signatures.append(try reader.readLengthPrefixed("signature", limit: limits.maxSignatureBytes))
        }
        self.init(
            height: height, blockID: blockID, root: root, epoch: epoch, signers: signers, signatures: signatures)
    }
}
