import DSMR

/// What the store knows about a chunk without its transactions.
public struct ChunkSummary: Sendable, Hashable {
    /// The chunk's id.
    public let id: ChunkID
    /// Its producer.
    public let producer: NodeID
    /// Its slot.
    public let slot: UInt64
    /// When it expires (ms).
    public let expiry: Int64
    /// Pending or accepted.
    public let status: ChunkStatus
    /// How it came to be stored.
    public let origin: ChunkOrigin
    /// Its units as charged to the producer's rate limit.
    public let units: Dimensions
    /// Its encoded size in bytes.
    public let size: Int

    init(id: ChunkID, record: ChunkRecord, size: Int) {
        self.id = id
        producer = record.producer
        slot = record.slot
        expiry = record.expiry
        status = record.status
        origin = record.origin
        units = record.units
        self.size = size
    }
}

/// A stored chunk with what the store knows about it.
public struct StoredChunk: Sendable, Hashable {
    /// The chunk.
    public let chunk: Chunk
    /// Its summary: status, origin, expiry, units, size.
    public let summary: ChunkSummary
}
