import DSMR

/// Expiry times are non-negative milliseconds; negative ones sort as 0.
package func expiryBits(_ expiry: Int64) -> UInt64 { UInt64(max(expiry, 0)) }

/// A chunk's place in `chunks` and `certificates`: expiry (8), chunk id (32).
///
/// Expiry first keeps records that expire together on the same pages, so
/// collecting them frees whole pages instead of touching one page per
/// record.
package struct ChunkKey: Row, Hashable {
    package static let size: Int? = 8 + ChunkID.byteCount
    package var expiry: Int64
    package var id: ChunkID

    package init(expiry: Int64, id: ChunkID) {
        self.expiry = expiry
        self.id = id
    }

    package var encoded: [UInt8] {
        var writer = RowWriter(capacity: Self.size!)
        writer.uint64(expiryBits(expiry))
        writer.bytes(id.bytes)
        return writer.bytes
    }

    package init(decoding bytes: UnsafeRawBufferPointer) throws {
        try RowReader.expect(bytes, size: Self.size!, "a chunk key")
        var reader = RowReader(bytes, "a chunk key")
        expiry = try reader.int64()
        id = try ChunkID(bytes: reader.rest())
    }

    /// The first key with expiry `expiry`: every key expiring earlier sorts
    /// before it.
    package static func bound(expiry: Int64) -> [UInt8] {
        var writer = RowWriter(capacity: 8)
        writer.uint64(expiryBits(expiry))
        return writer.bytes
    }
}

/// `by_slot_producer`: slot (8), producer (20), chunk id (32). Slot first, so
/// the rows that expire together are neighbours; a producer's chunks in a
/// slot are one seek away.
package struct SlotProducerKey: Row, Hashable {
    package static let size: Int? = 8 + NodeID.byteCount + ChunkID.byteCount
    package var slot: UInt64
    package var producer: NodeID
    package var id: ChunkID

    package init(slot: UInt64, producer: NodeID, id: ChunkID) {
        self.slot = slot
        self.producer = producer
        self.id = id
    }

    package var encoded: [UInt8] {
        var writer = RowWriter(capacity: Self.size!)
        writer.uint64(slot)
        writer.bytes(producer.bytes)
        writer.bytes(id.bytes)
        return writer.bytes
    }

    package init(decoding bytes: UnsafeRawBufferPointer) throws {
        try RowReader.expect(bytes, size: Self.size!, "a by_slot_producer key")
        var reader = RowReader(bytes, "a by_slot_producer key")
        slot = try reader.uint64()
        producer = try NodeID(bytes: reader.bytes(NodeID.byteCount))
        id = try ChunkID(bytes: reader.rest())
    }

    /// The prefix shared by one producer's keys in one slot.
    package static func prefix(slot: UInt64, producer: NodeID) -> [UInt8] {
        var writer = RowWriter(capacity: 8 + NodeID.byteCount)
        writer.uint64(slot)
        writer.bytes(producer.bytes)
        return writer.bytes
    }

    /// The first key of `slot`.
    package static func bound(slot: UInt64) -> [UInt8] {
        var writer = RowWriter(capacity: 8)
        writer.uint64(slot)
        return writer.bytes
    }

    /// The slot of a stored key, read only after its length is checked.
    package static func slot(of bytes: UnsafeRawBufferPointer) throws -> UInt64 {
        try SlotProducerKey(decoding: bytes).slot
    }
}

/// `by_expiry`: status (1), expiry (8), chunk id (32). Status first, so each
/// status is walked in expiry order from its start.
package struct ExpiryIndexKey: Row, Hashable {
    package static let size: Int? = 1 + 8 + ChunkID.byteCount
    package var status: ChunkStatus
    package var expiry: Int64
    package var id: ChunkID

    package init(status: ChunkStatus, expiry: Int64, id: ChunkID) {
        self.status = status
        self.expiry = expiry
        self.id = id
    }

    package var encoded: [UInt8] {
        var writer = RowWriter(capacity: Self.size!)
        writer.uint8(status.rawValue)
        writer.uint64(expiryBits(expiry))
        writer.bytes(id.bytes)
        return writer.bytes
    }

    package init(decoding bytes: UnsafeRawBufferPointer) throws {
        try RowReader.expect(bytes, size: Self.size!, "a by_expiry key")
        var reader = RowReader(bytes, "a by_expiry key")
        let raw = try reader.uint8()
        guard let status = ChunkStatus(rawValue: raw) else {
            throw ChunkStoreError(.corruptRecord, "a by_expiry key has unknown status \(raw)")
        }
        self.status = status
        expiry = try reader.int64()
        id = try ChunkID(bytes: reader.rest())
    }

    /// The key of the chunk record this row indexes.
    package var chunkKey: ChunkKey { ChunkKey(expiry: expiry, id: id) }

    /// Every key of `status` with expiry below `expiry` sorts before this.
    package static func bound(_ status: ChunkStatus, expiry: Int64) -> [UInt8] {
        var writer = RowWriter(capacity: 9)
        writer.uint8(status.rawValue)
        writer.uint64(expiryBits(expiry))
        return writer.bytes
    }

    /// Every key of `status` sorts before this.
    package static func end(_ status: ChunkStatus) -> [UInt8] { [status.rawValue + 1] }
}

/// `signed` and `evidence`: slot (8), producer (20); `ledger`: window (8),
/// producer (20). The number comes first so that pruning everything below a
/// slot or window is one contiguous range, whatever the number of producers.
package struct ProducerKey: Row, Hashable {
    package static let size: Int? = 8 + NodeID.byteCount
    /// The slot (`signed`, `evidence`) or window (`ledger`).
    package var number: UInt64
    package var producer: NodeID

    package init(_ producer: NodeID, _ number: UInt64) {
        self.producer = producer
        self.number = number
    }

    package var encoded: [UInt8] {
        var writer = RowWriter(capacity: Self.size!)
        writer.uint64(number)
        writer.bytes(producer.bytes)
        return writer.bytes
    }

    package init(decoding bytes: UnsafeRawBufferPointer) throws {
        try RowReader.expect(bytes, size: Self.size!, "a producer key")
        var reader = RowReader(bytes, "a producer key")
        number = try reader.uint64()
        producer = try NodeID(bytes: reader.rest())
    }

    /// Every key with a number below `number` sorts before this.
    package static func bound(_ number: UInt64) -> [UInt8] {
        var writer = RowWriter(capacity: 8)
        writer.uint64(number)
        return writer.bytes
    }
}

/// `blocks`: height (8).
package struct HeightKey: Row, Hashable {
    package static let size: Int? = 8
    package var height: UInt64

    package init(_ height: UInt64) { self.height = height }

    package var encoded: [UInt8] {
        var writer = RowWriter(capacity: 8)
        writer.uint64(height)
        return writer.bytes
    }

    package init(decoding bytes: UnsafeRawBufferPointer) throws {
        try RowReader.expect(bytes, size: 8, "a block height key")
        var reader = RowReader(bytes, "a block height key")
        height = try reader.uint64()
    }
}
