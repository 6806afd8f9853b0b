import DSMR

/// Proof that a producer signed two different chunks for one slot: both
/// chunks, each carrying the producer's own signature. Stored in `evidence`
/// as an `EvidenceRow`.
public struct ConflictEvidence: Sendable, Hashable {
    /// The producer at fault.
    public let producer: NodeID
    /// The slot it signed twice.
    public let slot: UInt64
    /// The chunk this node signed first.
    public let signedChunkID: ChunkID
    /// That chunk, when it is held.
    public let signedChunk: Chunk?
    /// The second, conflicting chunk.
    public let conflictingChunk: Chunk

    /// Whether both chunks carry valid signatures of the producer with
    /// `publicKey`, differ, and share producer and slot: that is, whether the
    /// evidence proves the fault on its own.
    public func proves(publicKey: [UInt8], domain: SigningDomain) -> Bool {
        guard let signedChunk, signedChunk.id != conflictingChunk.id else { return false }
        return signedChunk.producer == producer && conflictingChunk.producer == producer
            && signedChunk.slot == slot && conflictingChunk.slot == slot
            && signedChunk.verifySignature(publicKey: publicKey, domain: domain)
            && conflictingChunk.verifySignature(publicKey: publicKey, domain: domain)
    }

    /// The row kept in `evidence`.
    var row: EvidenceRow {
        EvidenceRow(
            signedChunkID: signedChunkID, signedChunk: signedChunk?.encoded() ?? [],
            conflictingChunk: conflictingChunk.encoded())
    }

    init(producer: NodeID, slot: UInt64, signedChunkID: ChunkID, signedChunk: Chunk?, conflictingChunk: Chunk) {
        self.producer = producer
        self.slot = slot
        self.signedChunkID = signedChunkID
        self.signedChunk = signedChunk
        self.conflictingChunk = conflictingChunk
    }

    /// Decodes a stored row for `key`.
    init(key: ProducerKey, row: EvidenceRow, limits: DecodingLimits) throws {
        do {
            signedChunk = row.signedChunk.isEmpty ? nil : try Chunk(decoding: row.signedChunk, limits: limits)
            conflictingChunk = try Chunk(decoding: row.conflictingChunk, limits: limits)
        } catch {
            throw ChunkStoreError(.corruptRecord, "evidence for \(key.producer) slot \(key.number): \(error)")
        }
        producer = key.producer
        slot = key.number
        signedChunkID = row.signedChunkID
    }
}
