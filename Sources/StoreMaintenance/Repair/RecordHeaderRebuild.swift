import ChunkStore
import DSMR

/// Rebuilds the header of a chunk record that is damaged while its chunk is
/// not: the bytes still hash to the id in the key, so they are the chunk, and
/// everything in the header follows from them, the key and the other tables.
///
/// - producer and slot: from the chunk;
/// - expiry: from the record's key (stored expiries follow the rules the
///   chunk was stored under, which may be older than the current ones);
/// - status: accepted when `by_expiry` has the chunk's accepted row or its
///   certificate is marked accepted (both written when its block was
///   accepted), pending otherwise;
/// - origin: this node's own or signed here when the `signed` row of its
///   producer and slot names it, fetched otherwise;
/// - units: measured again, as when it was stored (only its size when the
///   measure fails).
struct RecordHeaderRebuild {
    let node: NodeID
    let limits: DecodingLimits
    let measure: @Sendable (Chunk, Int) throws -> Dimensions

    /// Rewrites every record whose chunk is sound but whose header does not
    /// parse or disagrees with its chunk or key; returns how many. Runs
    /// before the indexes are cleared, since the status is read from them.
    func run(_ w: borrowing StoreWriter) throws -> Int {
        var rebuilt: [(key: ChunkKey, record: ChunkRecord, body: [UInt8])] = []
        try w.scan(w.tables.chunks) { entry in
            let value = entry.raw.value
            guard let key = try? entry.key(), value.count > ChunkRecord.headerSize else { return .next }
            let body = UnsafeRawBufferPointer(rebasing: value[ChunkRecord.headerSize...])
            guard needsRebuild(value, key: key), ChunkID(hashing: body) == key.id,
                let chunk = try? Chunk(decoding: Array(body), limits: limits)
            else { return .next }
            rebuilt.append((key, try header(for: chunk, key: key, size: body.count, w), Array(body)))
            return .next
        }
        for (key, record, body) in rebuilt {
            try w.put(w.tables.chunks, key, reserving: ChunkRecord.headerSize + body.count) { buffer in
                record.writeHeader(into: buffer)
                body.withUnsafeBytes {
                    UnsafeMutableRawBufferPointer(rebasing: buffer[ChunkRecord.headerSize...]).copyMemory(from: $0)
                }
            }
        }
        return rebuilt.count
    }

    private func needsRebuild(_ value: UnsafeRawBufferPointer, key: ChunkKey) -> Bool {
        guard let parsed = try? ChunkRecord.parse(value) else { return true }
        return expiryBits(key.expiry) != expiryBits(parsed.record.expiry)
            || StoreChecker.disagreement(parsed.record, body: parsed.body, limits: limits) != nil
    }

    private func header(
        for chunk: Chunk, key: ChunkKey, size: Int, _ w: borrowing StoreWriter
    ) throws
        -> ChunkRecord
    {
        let indexedAccepted = try w.contains(
            w.tables.byExpiry, ExpiryIndexKey(status: .accepted, expiry: key.expiry, id: key.id))
        let certified = (try? w.get(w.tables.certificates, key))??.status == .accepted
        let signed = (try? w.signedRecord(producer: chunk.producer, slot: chunk.slot)) ?? nil
        let origin: ChunkOrigin = signed?.chunkID == key.id ? (chunk.producer == node ? .own : .signed) : .fetched
        let units = (try? measure(chunk, size)) ?? Dimensions(bandwidth: UInt64(size))
        return ChunkRecord(
            status: indexedAccepted || certified ? .accepted : .pending, origin: origin, producer: chunk.producer,
            slot: chunk.slot, expiry: key.expiry, units: units)
    }
}
