import DSMR

/// Proof that a producer signed two different chunks for one slot: both
/// chunks, each carrying the producer's own signature, and the producer's
/// public key as this node knew it when the conflict arrived. Stored in
/// `evidence` as an `EvidenceRow`.
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
    /// The producer's public key, recorded with the evidence; nil in rows
    /// written before keys were recorded (schema version 1).
    public let producerKey: [UInt8]?

    /// Whether both chunks carry valid signatures of the producer with
    /// `publicKey`, differ, and share producer and slot: that is, whether the
    /// evidence proves the fault on its own.
    public func proves(publicKey: [UInt8], domain: SigningDomain) -> Bool {
        guard let signedChunk, signedChunk.id != conflictingChunk.id, signedChunk.id == signedChunkID else {
            return false
        }
        return signedChunk.producer == producer && conflictingChunk.producer == producer
            && signedChunk.slot == slot && conflictingChunk.slot == slot
            && signedChunk.verifySignature(publicKey: publicKey, domain: domain)
            && conflictingChunk.verifySignature(publicKey: publicKey, domain: domain)
    }

    /// Whether the evidence proves the fault with the key it records: the
    /// key hashes to the producer's id and `proves(publicKey:domain:)` holds.
    public func provesItself(domain: SigningDomain) -> Bool {
        guard let producerKey, NodeID(publicKey: producerKey) == producer else { return false }
        return proves(publicKey: producerKey, domain: domain)
    }

    /// The row kept in `evidence`.
    package var row: EvidenceRow {
        EvidenceRow(
            signedChunkID: signedChunkID, producerKey: producerKey ?? [], signedChunk: signedChunk?.encoded() ?? [],
            conflictingChunk: conflictingChunk.encoded())
    }

    package init(
        producer: NodeID, slot: UInt64, signedChunkID: ChunkID, signedChunk: Chunk?, conflictingChunk: Chunk,
        producerKey: [UInt8]?
    ) {
        self.producer = producer
        self.slot = slot
        self.signedChunkID = signedChunkID
        self.signedChunk = signedChunk
        self.conflictingChunk = conflictingChunk
        self.producerKey = producerKey
    }

    /// Decodes a stored row for `key`.
    package init(key: ProducerKey, row: EvidenceRow, limits: DecodingLimits) throws {
        do {
            signedChunk = row.signedChunk.isEmpty ? nil : try Chunk(decoding: row.signedChunk, limits: limits)
            conflictingChunk = try Chunk(decoding: row.conflictingChunk, limits: limits)
        } catch {
            throw ChunkStoreError(.corruptRecord, "evidence for \(key.producer) slot \(key.number): \(error)")
        }
        producer = key.producer
        slot = key.number
        signedChunkID = row.signedChunkID
        producerKey = row.producerKey.isEmpty ? nil : row.producerKey
    }
}
