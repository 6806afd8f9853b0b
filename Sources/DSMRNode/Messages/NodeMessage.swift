import DSMR

/// Everything nodes say to each other, with one strict canonical encoding.
///
/// Requests are ``requestChunkSignatureShare(_:)`` (answered by
/// ``chunkSignature(_:)``) and ``requestChunk(_:expiry:)`` (answered by
/// ``chunk(_:)``), ``requestStateOffer`` (answered by
/// ``stateOffer(_:_:)``) and ``requestSnapshotPiece(height:index:)``
/// (answered by ``snapshotPiece(_:)``), ``requestBlock(height:)`` (answered
/// by ``block(_:)``); ``certificateGossip(_:)`` and
/// ``stateAttestation(_:)`` are one-way; ``error(_:)`` answers any request
/// the node refuses.
public enum NodeMessage: Hashable, Sendable {
    /// Asks a validator to store `chunk` and sign its reference.
    case requestChunkSignatureShare(Chunk)
    /// A validator's share for a chunk it stored.
    case chunkSignature(SignatureShare)
    /// Asks for the canonical bytes of the chunk with this id and expiry.
    case requestChunk(ChunkID, expiry: Int64)
    /// A chunk's canonical bytes, checked by the receiver against the id it asked for.
    case chunk([UInt8])
    /// A certificate offered to a peer.
    case certificateGossip(ChunkCertificate)
    /// A typed refusal.
    case error(ErrorReply)
    /// A validator's signed state root at a height it executed, offered to a peer.
    case stateAttestation(StateAttestation)
    /// Asks for the newest snapshot the peer serves at a certified height.
    case requestStateOffer
    /// A snapshot the peer serves: the certificate of its root and its manifest.
    case stateOffer(StateCertificate, SnapshotManifest)
    /// Asks for one piece of the snapshot served at `height`.
    case requestSnapshotPiece(height: UInt64, index: UInt32)
    /// One snapshot piece with its proof.
    case snapshotPiece(SnapshotPiece)
    /// Asks for the accepted block at `height`.
    case requestBlock(height: UInt64)
    /// An accepted block's canonical bytes, checked by the receiver against the id it expects.
    case block([UInt8])

    enum Tag: UInt8 {
        case requestChunkSignatureShare = 1, chunkSignature, requestChunk, chunk, certificateGossip, error
        case stateAttestation, requestStateOffer, stateOffer, requestSnapshotPiece, snapshotPiece, requestBlock, block
    }
}

extension NodeMessage: CanonicalValue {
    public static let formatVersion: UInt8 = 1
    public static let codecName: StaticString = "nodeMessage"
    /// A chunk and its framing, or a snapshot piece with its proof, whichever is larger.
    public static func maxEncodedBytes(limits: DecodingLimits) -> Int {
        max(limits.maxChunkBytes + 16, SnapshotPiece.maxPayloadBytes + SnapshotTree.maxProofBytes + 64)
    }

    /// The largest block a peer serves in one message: the block limit, or
    /// what fits a message when that is less.
    public static func maxServedBlockBytes(limits: DecodingLimits) -> Int {
        min(limits.maxBlockBytes, maxEncodedBytes(limits: limits) - 16)
    }

    /// `tag (u8) || body`: a chunk, share or certificate body; `id (32) ||
    /// expiry (i64)`; `length (u32) || chunk bytes`; or `code (u8) ||
    /// length (u32) || UTF-8 message`.
    public func encode(to writer: inout CanonicalWriter) {
        switch self {
        case .requestChunkSignatureShare(let chunk):
            writer.write(Tag.requestChunkSignatureShare.rawValue)
            chunk.encode(to: &writer)
        case .chunkSignature(let share):
            writer.write(Tag.chunkSignature.rawValue)
            share.encode(to: &writer)
        case .requestChunk(let id, let expiry):
            writer.write(Tag.requestChunk.rawValue)
            writer.write(id)
            writer.write(expiry)
        case .chunk(let bytes):
            writer.write(Tag.chunk.rawValue)
            writer.writeLengthPrefixed(bytes)
        case .certificateGossip(let certificate):
            writer.write(Tag.certificateGossip.rawValue)
            certificate.encode(to: &writer)
        case .error(let reply):
            writer.write(Tag.error.rawValue)
            writer.write(reply.code.rawValue)
            writer.writeLengthPrefixed(Array(reply.message.utf8))
        case .stateAttestation(let attestation):
            writer.write(Tag.stateAttestation.rawValue)
            attestation.encode(to: &writer)
        case .requestStateOffer:
            writer.write(Tag.requestStateOffer.rawValue)
        case .stateOffer(let certificate, let manifest):
            writer.write(Tag.stateOffer.rawValue)
            certificate.encode(to: &writer)
            manifest.encode(to: &writer)
        case .requestSnapshotPiece(let height, let index):
            writer.write(Tag.requestSnapshotPiece.rawValue)
            writer.write(height)
            writer.write(index)
        case .snapshotPiece(let piece):
            writer.write(Tag.snapshotPiece.rawValue)
            piece.encode(to: &writer)
        case .requestBlock(let height):
            writer.write(Tag.requestBlock.rawValue)
            writer.write(height)
        case .block(let bytes):
            writer.write(Tag.block.rawValue)
            writer.writeLengthPrefixed(bytes)
        }
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        let rawTag = try reader.readUInt8("tag")
        guard let tag = Tag(rawValue: rawTag) else {
            throw reader.error(.nonCanonical, "tag", "unknown message tag \(rawTag)")
        }
        switch tag {
        case .requestChunkSignatureShare:
            self = .requestChunkSignatureShare(
                try reader.nested("chunk") { (reader) throws(CodecError) in try Chunk(from: &reader) })
        case .chunkSignature:
            self = .chunkSignature(
                try reader.nested("share") { (reader) throws(CodecError) in try SignatureShare(from: &reader) })
        case .requestChunk:
            self = .requestChunk(try reader.read(ChunkID.self, "chunkID"), expiry: try reader.readInt64("expiry"))
        case .chunk:
            self = .chunk(try reader.readLengthPrefixed("chunk", limit: reader.limits.maxChunkBytes))
        case .certificateGossip:
            self = .certificateGossip(
                try reader.nested("certificate") { (reader) throws(CodecError) in
                    try ChunkCertificate(from: &reader)
                })
        case .error:
            let rawCode = try reader.readUInt8("code")
            guard let code = ErrorReply.Code(rawValue: rawCode) else {
                throw reader.error(.nonCanonical, "code", "unknown error code \(rawCode)")
            }
            let text = try reader.readLengthPrefixed("message", limit: ErrorReply.maxMessageBytes)
            guard let message = String(validating: text, as: UTF8.self) else {
                throw reader.error(.nonCanonical, "message", "not UTF-8")
            }
            self = .error(ErrorReply(code, message))
        case .stateAttestation:
            self = .stateAttestation(
                try reader.nested("attestation") { (reader) throws(CodecError) in try StateAttestation(from: &reader) })
        case .requestStateOffer:
            self = .requestStateOffer
        case .stateOffer:
            let certificate = try reader.nested("certificate") { (reader) throws(CodecError) in
                try StateCertificate(from: &reader)
            }
            let manifest = try reader.nested("manifest") { (reader) throws(CodecError) in
                try SnapshotManifest(from: &reader)
            }
            self = .stateOffer(certificate, manifest)
        case .requestSnapshotPiece:
            self = .requestSnapshotPiece(height: try reader.readUInt64("height"), index: try reader.readUInt32("index"))
        case .snapshotPiece:
            self = .snapshotPiece(
                try reader.nested("piece") { (reader) throws(CodecError) in try SnapshotPiece(from: &reader) })
        case .requestBlock:
            self = .requestBlock(height: try reader.readUInt64("height"))
        case .block:
            self = .block(
                try reader.readLengthPrefixed("block", limit: Self.maxServedBlockBytes(limits: reader.limits)))
        }
    }
}
