import DSMR

/// Everything nodes say to each other, with one strict canonical encoding.
///
/// Requests are ``requestChunkSignatureShare(_:)`` (answered by
/// ``chunkSignature(_:)``) and ``requestChunk(_:expiry:)`` (answered by
/// ``chunk(_:)``); ``certificateGossip(_:)`` is one-way; ``error(_:)``
/// answers any request the node refuses.
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

    enum Tag: UInt8 {
        case requestChunkSignatureShare = 1, chunkSignature, requestChunk, chunk, certificateGossip, error
    }
}

extension NodeMessage: CanonicalValue {
    public static let formatVersion: UInt8 = 1
    public static let codecName: StaticString = "nodeMessage"
    /// A chunk and its framing, or a block-sized certificate, whichever is larger.
    public static func maxEncodedBytes(limits: DecodingLimits) -> Int { max(limits.maxChunkBytes + 16, 1 << 20) }

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
        }
    }
}
