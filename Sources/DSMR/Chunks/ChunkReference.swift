/// What validators sign for a chunk: its id, producer, slot and expiry.
public struct ChunkReference: Hashable, Sendable {
    /// The referenced chunk's id.
    public var chunkID: ChunkID
    /// The chunk's producer.
    public var producer: NodeID
    /// The chunk's slot.
    public var slot: UInt64
    /// When the chunk expires, in milliseconds.
    public var expiry: Int64

    /// Creates a reference from its parts.
    public init(chunkID: ChunkID, producer: NodeID, slot: UInt64, expiry: Int64) {
        self.chunkID = chunkID
        self.producer = producer
        self.slot = slot
        self.expiry = expiry
    }

    /// The reference to `chunk`, expiring as `rules` say for its slot.
    public init(chunk: Chunk, rules: Rules) {
        self.init(
            chunkID: chunk.id, producer: chunk.producer, slot: chunk.slot, expiry: rules.expiry(ofSlot: chunk.slot))
    }

    /// The size of the body (without the version byte).
    public static let bodyByteCount = ChunkID.byteCount + NodeID.byteCount + 8 + 8
}

extension ChunkReference: CanonicalValue {
    public static let formatVersion: UInt8 = 1
    public static let codecName: StaticString = "chunkReference"

    /// `chunkID (32) || producer (20) || slot (u64) || expiry (i64)`.
    public func encode(to writer: inout CanonicalWriter) {
        writer.write(chunkID)
        writer.write(producer)
        writer.write(slot)
        writer.write(expiry)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        self.init(
            chunkID: try reader.read(ChunkID.self, "chunkID"),
            producer: try reader.read(NodeID.self, "producer"),
            slot: try reader.readUInt64("slot"),
            expiry: try reader.readInt64("expiry"))
    }
}
