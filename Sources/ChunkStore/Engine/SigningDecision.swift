import DSMR

/// What the signing transaction decided about one chunk.
enum SigningDecision: Sendable {
    /// Stored and recorded as signed now.
    case stored
    /// This very chunk was signed before; sign again (idempotent).
    case alreadySigned
    /// Another chunk was signed for the same producer and slot.
    case conflict(signed: ChunkID)
    /// The producer's window would overflow its limit.
    case rateLimited(window: UInt64, usage: Dimensions, limit: Dimensions)
    /// The chunk's expiry is at or below the watermark.
    case expired(watermark: Int64)
    /// The chunk's slot is below the signing floor: its `signed` rows were
    /// pruned, so whether another chunk was signed for it is unknown.
    case belowFloor(floor: UInt64)
}

/// A chunk ready for the signing transaction: checked, encoded and measured
/// on the caller's thread so the writer only does storage work.
struct PreparedChunk: Sendable {
    let chunk: Chunk
    let id: ChunkID
    /// The size of the chunk's encoding; the encoding itself is written
    /// straight into the store's record (`Chunk.encode(into:)`).
    let size: Int
    let expiry: Int64
    let units: Dimensions
    let origin: ChunkOrigin
    /// The producer's public key, as the caller verified the chunk with it;
    /// recorded with conflict evidence so the evidence proves itself.
    var producerKey: [UInt8]? = nil

    /// The chunk's encoding, for the rare paths that keep it apart from its record (evidence).
    var bytes: [UInt8] { chunk.encoded() }

    var reference: ChunkReference {
        ChunkReference(chunkID: id, producer: chunk.producer, slot: chunk.slot, expiry: expiry)
    }
}
