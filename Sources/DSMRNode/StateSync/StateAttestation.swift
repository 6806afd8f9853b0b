import DSMR

/// A validator's signed word that executing the chain to block `blockID` at
/// `height` gave `root`.
///
/// Validators sign one as they execute and gossip it; a quorum of stake
/// behind one root makes a ``StateCertificate``, which a validator coming
/// back without the blocks it missed trusts instead of any single peer.
/// `epoch` is the epoch of the executed block's slot: the validator set that
/// judges the signature.
///
/// The block id is signed with the root so that a validator coming back can
/// take the certified block, and its ancestors by their parent links, from
/// any peer. The signature is Ed25519 over
/// `SigningDomain.message(.stateAttestation, height (u64) || block id (32) ||
/// root (32) || epoch (u64))`.
public struct StateAttestation: Hashable, Sendable {
    /// The executed height.
    public var height: UInt64
    /// The block at that height.
    public var blockID: BlockID
    /// The state root after executing it.
    public var root: StateRoot
    /// The epoch whose validator set judges the signature.
    public var epoch: UInt64
    /// Who signed.
    public var signer: NodeID
    /// The signature, as the signer's scheme makes it.
    public var signature: [UInt8]

    /// An attestation from its parts.
    public init(
        height: UInt64, blockID: BlockID, root: StateRoot, epoch: UInt64, signer: NodeID, signature: [UInt8]
    ) {
        precondition(signature.count <= Int(UInt32.max), "signature too long")
        self.height = height
        self.blockID = blockID
        self.root = root
        self.epoch = epoch
        self.signer = signer
        self.signature = signature
    }

    /// Signs that block `blockID` at `height` executed to `root`.
    public init(
        height: UInt64, blockID: BlockID, root: StateRoot, epoch: UInt64, signer: some Signer, domain: SigningDomain
    ) throws {
        self.init(
            height: height, blockID: blockID, root: root, epoch: epoch, signer: signer.nodeID,
            signature: try signer.sign(
                Self.message(height: height, blockID: blockID, root: root, epoch: epoch, domain: domain)))
    }

    /// The bytes signed.
    public static func message(
        height: UInt64, blockID: BlockID, root: StateRoot, epoch: UInt64, domain: SigningDomain
    ) -> [UInt8] {
        var body = CanonicalWriter(capacity: 8 + 2 * StateRoot.byteCount + 8)
        body.write(height)
        body.write(blockID)
        body.write(root)
        body.write(epoch)
        return domain.message(.stateAttestation, body.bytes)
    }

    /// Checks the signer is a validator of `validators` (which must be the
    /// attestation's epoch's) and the signature is theirs.
    ///
    /// - Throws: ``StateSyncError`` naming what is wrong.
    public func verify(
        validators: ValidatorSet, domain: SigningDomain, verifier: some SignatureVerifier = Ed25519Verifier()
    ) throws(StateSyncError) {
        guard validators.epoch == epoch else {
            throw StateSyncError(.wrongEpoch, "attestation of \(signer) is for epoch \(epoch), not \(validators.epoch)")
        }
        guard let validator = validators.validator(signer) else {
            throw StateSyncError(.unknownSigner, "\(signer) is not a validator of epoch \(epoch)")
        }
        guard
            verifier.isValid(
                signature: signature,
                message: Self.message(height: height, blockID: blockID, root: root, epoch: epoch, domain: domain),
                publicKey: validator.publicKey)
        else {
            throw StateSyncError(.badSignature, "\(signer)'s attestation of height \(height) does not verify")
        }
    }
}

extension StateAttestation: CanonicalValue {
    public static let formatVersion: UInt8 = 1
    public static let codecName: StaticString = "stateAttestation"

    /// `height (u64) || block id (32) || root (32) || epoch (u64) || signer (20) || length (u32) || signature`.
    public func encode(to writer: inout CanonicalWriter) {
        writer.write(height)
        writer.write(blockID)
        writer.write(root)
        writer.write(epoch)
        writer.write(signer)
        writer.writeLengthPrefixed(signature)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        let height = try reader.readUInt64("height")
        let blockID = try reader.read(BlockID.self, "blockID")
        let root = try reader.read(StateRoot.self, "root")
        let epoch = try reader.readUInt64("epoch")
        let signer = try reader.read(NodeID.self, "signer")
        let signature = try reader.readLengthPrefixed("signature", limit: reader.limits.maxSignatureBytes)
        self.init(height: height, blockID: blockID, root: root, epoch: epoch, signer: signer, signature: signature)
    }
}

extension SigningTag {
    /// A validator's attestation of a state root (``StateAttestation``).
    public static let stateAttestation = SigningTag("dsmr/state-attestation/v1")
}
