import DSMR

/// Chunk-level reads that every engine shares, in any store transaction.
extension StoreTransaction where Self: ~Copyable {
    /// The header of the record under `key`, or nil when it is not held; a
    /// damaged record throws `corruptRecord`.
    package func chunkRecord(_ key: ChunkKey) throws -> ChunkRecord? {
        try get(tables.chunks, key)
    }

    /// The summary of the chunk under `key`, or nil when it is not held.
    package func summary(_ key: ChunkKey) throws -> ChunkSummary? {
        try withRawValue(tables.chunks, key) { value in
            let (record, body) = try ChunkRecord.parse(value)
            return ChunkSummary(id: key.id, record: record, size: body.count)
        }
    }

    /// The summary of the chunk a `by_slot_producer` row names, or nil when
    /// it is not held; a malformed row throws `corruptRecord`.
    package func summary(indexedBy entry: TableEntry<SlotProducerKey, IndexedExpiry>) throws -> ChunkSummary? {
        let key = try entry.key()
        return try summary(ChunkKey(expiry: try entry.value().expiry, id: key.id))
    }

    /// The `signed` row for `producer` at `slot`, if any.
    package func signedRecord(producer: NodeID, slot: UInt64) throws -> SignedRecord? {
        try get(tables.signed, ProducerKey(producer, slot))
    }

    /// The units `producer` used in rate-limit window `window` (zero when
    /// there is no row).
    package func ledgerUsage(producer: NodeID, window: UInt64) throws -> Dimensions {
        try get(tables.ledger, ProducerKey(producer, window)) ?? .zero
    }
}

/// Chunk-level writes.
extension StoreWriter {
    /// Writes a chunk's record and its index rows.
    func putChunk(_ prepared: PreparedChunk, status: ChunkStatus) throws {
        let chunk = prepared.chunk
        let record = ChunkRecord(
            status: status, origin: prepared.origin, producer: chunk.producer, slot: chunk.slot,
            expiry: prepared.expiry, units: prepared.units)
        let key = ChunkKey(expiry: prepared.expiry, id: prepared.id)
        try put(tables.chunks, key, reserving: ChunkRecord.headerSize + prepared.size) { buffer in
            record.writeHeader(into: buffer)
            chunk.encode(into: UnsafeMutableRawBufferPointer(rebasing: buffer[ChunkRecord.headerSize...]))
        }
        try putIndexRows(record, id: prepared.id)
    }

    /// `prepared` as signed here (or as this node's own) when the `signed`
    /// row names it as held: a record rewritten after damage keeps counting
    /// towards its producer's ledger.
    func restoringOrigin(_ prepared: PreparedChunk, node: NodeID) throws -> PreparedChunk {
        let chunk = prepared.chunk
        guard let signed = (try? signedRecord(producer: chunk.producer, slot: chunk.slot)) ?? nil,
            signed.chunkID == prepared.id, !signed.notHeld
        else { return prepared }
        return PreparedChunk(
            chunk: chunk, id: prepared.id, size: prepared.size, expiry: prepared.expiry, units: prepared.units,
            origin: chunk.producer == node ? .own : .signed)
    }

    /// Writes the two index rows of a record.
    package func putIndexRows(_ record: ChunkRecord, id: ChunkID) throws {
        try put(
            tables.bySlotProducer, SlotProducerKey(slot: record.slot, producer: record.producer, id: id),
            IndexedExpiry(record.expiry))
        try put(tables.byExpiry, ExpiryIndexKey(status: record.status, expiry: record.expiry, id: id), EmptyRow())
    }

    /// Marks a held chunk accepted; returns false when it is not held, or
    /// held with a damaged header: then the node fetches the chunk again and
    /// `storeAcceptedChunk` writes a sound record in its place, so a damaged
    /// record never stops acceptance.
    package func markAccepted(_ key: ChunkKey) throws -> Bool {
        guard var value = try withRawValue(tables.chunks, key, { Array($0) }),
            let record = value.withUnsafeBytes({ try? ChunkRecord.parse($0).record })
        else { return false }
        if record.status == .accepted { return true }
        var accepted = record
        accepted.status = .accepted
        value.withUnsafeMutableBytes { accepted.writeHeader(into: $0) }
        try put(tables.chunks, key, reserving: value.count) { buffer in
            value.withUnsafeBytes { buffer.copyMemory(from: $0) }
        }
        try delete(tables.byExpiry, ExpiryIndexKey(status: .pending, expiry: record.expiry, id: key.id))
        try put(tables.byExpiry, ExpiryIndexKey(status: .accepted, expiry: record.expiry, id: key.id), EmptyRow())
        return true
    }
}
