/// One validator's signature over a ``ChunkReference`` and the epoch its
/// slot falls in, given after it has durably stored the chunk.
///
/// The epoch is not chosen by the signer: it is ``Rules/epoch(ofSlot:)`` of
/// the reference's slot. Signing it means a certificate built from shares
/// cannot be relabelled with another epoch (and so checked against another
/// epoch's validator set) without every signature failing.
public struct SignatureShare: Hashable, Sendable {
    /// The validator that signed.
    public var signer: NodeID
    /// What it signed.
    public var reference: ChunkReference
    /// The epoch of the reference's slot, signed with it.
    public var epoch: UInt64
    /// The signature over ``message(for:epoch:domain:)``.
    public var signature: [UInt8]

    /// Creates a share from its parts; see ``sign(_:rules:signer:domain:)`` to make one.
    public init(signer: NodeID, reference: ChunkReference, epoch: UInt64, signature: [UInt8]) {
        precondition(signature.count <= Int(UInt32.max), "signature too long")
        self.signer = signer
        self.reference = reference
        self.epoch = epoch
        self.signature = signature
    }

    /// The exact bytes signed for `reference` of `epoch` in `domain`: the
    /// reference's top-level encoding (69 bytes) then the epoch (`u64`), under
    /// the ``SigningTag/signatureShare`` tag.
    public static func message(for reference: ChunkReference, epoch: UInt64, domain: SigningDomain) -> [UInt8] {
        var body = CanonicalWriter(capacity: 1 + ChunkReference.bodyByteCount + 8)
        body.write(ChunkReference.formatVersion)
        reference.encode(to: &body)
        body.write(epoch)
        return domain.message(.signatureShare, body.bytes)
    }

    /// Signs `reference` as `signer`, for the epoch `rules` give its slot.
    public static func sign(
        _ reference: ChunkReference, rules: Rules, signer: some Signer, domain: SigningDomain
    ) throws -> SignatureShare {
        let epoch = rules.epoch(ofSlot: reference.slot)
        return SignatureShare(
            signer: signer.nodeID, reference: reference, epoch: epoch,
            signature: try signer.sign(message(for: reference, epoch: epoch, domain: domain)))
    }

    /// Whether ``signature`` is the signer's over ``reference`` and ``epoch``
    /// in `domain`, and ``epoch`` is the one `rules` give the reference's slot.
    ///
    /// False as well when `publicKey` is not the signer's key.
    public func verify(
        publicKey: [UInt8], rules: Rules, domain: SigningDomain,
        verifier: some SignatureVerifier = Ed25519Verifier()
    ) -> Bool {
        guard NodeID(publicKey: publicKey) == signer, epoch == rules.epoch(ofSlot: reference.slot) else {
            return false
        }
        return verifier.isValid(
            signature: signature, message: Self.message(for: reference, epoch: epoch, domain: domain),
            publicKey: publicKey)
    }
}

extension SignatureShare: CanonicalValue {
    public static let formatVersion: UInt8 = 1
    public static let codecName: StaticString = "signatureShare"

    /// `signer (20) || reference body (68) || epoch (u64) || signature length (u32) || signature`.
    public func encode(to writer: inout CanonicalWriter) {
        writer.write(signer)
        reference.encode(to: &writer)
        writer.write(epoch)
        writer.writeLengthPrefixed(signature)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        let signer = try reader.read(NodeID.self, "signer")
        let reference = try reader.nested("reference") { (reader) throws(CodecError) in
            try ChunkReference(from: &reader)
        }
        let epoch = try reader.readUInt64("epoch")
        let signature = try reader.readLengthPrefixed("signature", limit: reader.limits.maxSignatureBytes)
        self.init(signer: signer, reference: reference, epoch: epoch, signature: signature)
    }
}
