import DSMR

/// One value of the ordering log: a block as its proposer published it,
/// with the proposer's signature over the block's id.
///
/// Encoded as `version (1) || proposer node id (20) || signature (64) ||
/// block (the rest: the block's canonical encoding)`. The signature covers
/// `SigningDomain.message(.blockAttempt, block id)`, and the block id is
/// the SHA-256 of the block's bytes, so the signature is checked before the
/// block is decoded: an attempt whose signature verifies is the proposer's
/// word whatever its block turns out to be, and an attempt that does not
/// verify as a block is evidence against that validator, kept in the log.
/// Only a validator can publish an attempt anyone follows: etcd
/// credentials alone are not enough.
public struct BlockAttempt: Sendable, Hashable {
    /// The encoding's version.
    public static let version: UInt8 = 1
    /// An Ed25519 signature's length.
    public static let signatureByteCount = 64
    /// The bytes before the block.
    public static let headerByteCount = 1 + NodeID.byteCount + signatureByteCount

    /// The validator that signed it.
    public let proposer: NodeID
    /// The proposer's signature over the block's id.
    public let signature: [UInt8]
    /// The block's canonical encoding, as signed (not yet decoded).
    public let blockBytes: [UInt8]

    /// The id of the block the attempt carries (the SHA-256 of its bytes).
    public var blockID: BlockID { BlockID(hashing: blockBytes) }

    /// `block` signed by `signer` for `domain`.
    public init(signing block: Block, by signer: any Signer, in domain: SigningDomain) throws {
        proposer = signer.nodeID
        blockBytes = block.encoded()
        signature = try signer.sign(domain.message(.blockAttempt, block.id.bytes))
    }

    /// `blockBytes` (a block's encoding, or anything: a test or an attack
    /// signing bytes that are no block) signed by `signer` for `domain`.
    package init(signingBytes blockBytes: [UInt8], by signer: any Signer, in domain: SigningDomain) throws {
        proposer = signer.nodeID
        self.blockBytes = blockBytes
        signature = try signer.sign(domain.message(.blockAttempt, BlockID(hashing: blockBytes).bytes))
    }

    /// The attempt encoded in `bytes`, of at most `headerByteCount +
    /// maxBlockBytes`; its signature and block are not checked yet.
    ///
    /// - Throws: ``BlockAttemptError`` (`.malformed`) naming what is wrong.
    public init(decoding bytes: [UInt8], maxBlockBytes: Int) throws(BlockAttemptError) {
        guard bytes.count > Self.headerByteCount else {
            throw .malformed("an attempt of \(bytes.count) bytes, shorter than its header and a block")
        }
        guard bytes.count - Self.headerByteCount <= maxBlockBytes else {
            throw .malformed(
                "an attempt's block of \(bytes.count - Self.headerByteCount) bytes passes the \(maxBlockBytes) allowed")
        }
        guard bytes[0] == Self.version else {
            throw .malformed("an attempt of version \(bytes[0]), not \(Self.version)")
        }
        let signatureStart = 1 + NodeID.byteCount
        do {
            proposer = try NodeID(bytes: bytes[1..<signatureStart])
        } catch {
            throw .malformed("an attempt's proposer: \(error)")
        }
        signature = Array(bytes[signatureStart..<Self.headerByteCount])
        blockBytes = Array(bytes[Self.headerByteCount...])
    }

    /// The encoding (see the type's description).
    public var encoded: [UInt8] { [Self.version] + proposer.bytes + signature + blockBytes }

    /// The block, once the proposer is one of `validators` (public keys by
    /// node id), the signature is its own over the block's id in `domain`,
    /// and the bytes decode as a block within `limits`.
    ///
    /// - Throws: ``BlockAttemptError``: `.unknownProposer` or
    ///   `.badSignature` when no validator vouches for it (anyone with etcd
    ///   credentials could have written it); `.undecodableBlock` when its
    ///   proposer signed bytes that are no block (evidence against it).
    public func verifiedBlock(
        validators: [NodeID: [UInt8]], domain: SigningDomain, limits: DecodingLimits,
        verifier: any SignatureVerifier = Ed25519Verifier()
    ) throws(BlockAttemptError) -> Block {
        guard let key = validators[proposer] else { throw .unknownProposer(proposer) }
        guard
            verifier.isValid(
                signature: signature, message: domain.message(.blockAttempt, blockID.bytes), publicKey: key)
        else { throw .badSignature(proposer) }
        do {
            return try Block(decoding: blockBytes, limits: limits)
        } catch {
            throw .undecodableBlock(proposer, "\(error)")
        }
    }
}

/// Why a ``BlockAttempt`` was not followed.
public enum BlockAttemptError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The bytes are not an attempt; what is wrong.
    case malformed(String)
    /// The proposer is not a validator of the chain.
    case unknownProposer(NodeID)
    /// The signature is not the named proposer's over the block's id.
    case badSignature(NodeID)
    /// The proposer signed bytes that do not decode as a block; why.
    case undecodableBlock(NodeID, String)

    /// The validator the attempt is evidence against: its signature verified.
    public var signedBy: NodeID? {
        if case .undecodableBlock(let proposer, _) = self { return proposer }
        return nil
    }

    public var description: String {
        switch self {
        case .malformed(let what): return "not a block attempt: \(what)"
        case .unknownProposer(let id): return "signed by \(id.hex), which is not a validator"
        case .badSignature(let id): return "its signature is not validator \(id.hex)'s over its block"
        case .undecodableBlock(let id, let why): return "validator \(id.hex) signed bytes that are no block: \(why)"
        }
    }
}

extension SigningTag {
    /// A proposer's signature over a block it publishes to the ordering log.
    public static let blockAttempt = SigningTag("dsmr/block-attempt/v1")
}
