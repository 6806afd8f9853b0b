/// One validator's signature over a ``ChunkReference``, given after it has
/// durably stored the chunk.
public struct SignatureShare: Hashable, Sendable {
    /// The validator that signed.
    public var signer: NodeID
    /// What it signed.
    public var reference: ChunkReference
    /// The signature over ``message(for:domain:)``.
    public var signature: [UInt8]

    /// Creates a share from its parts; see ``sign(_:signer:domain:)`` to make one.
    public init(signer: NodeID, reference: ChunkReference, signature: [UInt8]) {
        precondition(signature.count <= Int(UInt32.max), "signature too long")
        self.signer = signer
        self.reference = reference
        self.signature = signature
    }

    /// The exact bytes signed for `reference` in `domain`: the reference's
    /// top-level encoding under the ``SigningTag/signatureShare`` tag.
    public static func message(for reference: ChunkReference, domain: SigningDomain) -> [UInt8] {
        domain.message(.signatureShare, reference.encoded())
    }

    /// Signs `reference` as `signer`.
    public static func sign(
        _ reference: ChunkReference, signer: some Signer, domain: SigningDomain
    ) throws -> SignatureShare {
        SignatureShare(
            signer: signer.nodeID, reference: reference,
            signature: try signer.sign(message(for: reference, domain: domain)))
    }

    /// Whether ``signature`` is the signer's over ``reference`` in `domain`.
    ///
    /// False as well when `publicKey` is not the signer's key.
    public func verify(
        publicKey: [UInt8], domain: SigningDomain, verifier: some SignatureVerifier = Ed25519Verifier()
    ) -> Bool {
        guard NodeID(publicKey: publicKey) == signer else { return false }
        return verifier.isValid(
            signature: signature, message: Self.message(for: reference, domain: domain), publicKey: publicKey)
    }
}

extension SignatureShare: CanonicalValue {
    public static let formatVersion: UInt8 = 1
    public static let codecName: StaticString = "signatureShare"

    /// `signer (20) || reference body (68) || signature length (u32) || signature`.
    public func encode(to writer: inout CanonicalWriter) {
        writer.write(signer)
        reference.encode(to: &writer)
        writer.writeLengthPrefixed(signature)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        let signer = try reader.read(NodeID.self, "signer")
        let reference = try reader.nested("reference") { (reader) throws(CodecError) in
            try ChunkReference(from: &reader)
        }
        let signature = try reader.readLengthPrefixed("signature", limit: reader.limits.maxSignatureBytes)
        self.init(signer: signer, reference: reference, signature: signature)
    }
}
