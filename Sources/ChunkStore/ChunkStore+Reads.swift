import DSMR
import LMDB

extension ChunkStore {
    /// The chunk with `id` expiring at `expiry`, decoded, or nil when it is
    /// not held. Chunks are found by id and expiry together, as every
    /// reference, certificate and `requestChunk` carries both.
    public func chunk(_ id: ChunkID, expiry: Int64) throws -> StoredChunk? {
        let limits = DecodingLimits(rules: configuration.rules)
        return try snapshot { txn in
            try txn.withValue(forKey: Keys.chunk(expiry, id), in: tables.chunks) { value -> StoredChunk in
                let (record, body) = try ChunkRecord.parse(value)
                let chunk: Chunk
                do {
                    chunk = try Chunk(decoding: Array(body), limits: limits)
                } catch {
                    throw ChunkStoreError(.corruptRecord, "chunk \(id) does not decode: \(error)")
                }
                return StoredChunk(chunk: chunk, summary: ChunkSummary(id: id, record: record, size: body.count))
            }
        }
    }

    /// The chunk `reference` names, decoded, or nil.
    public func chunk(_ reference: ChunkReference) throws -> StoredChunk? {
        try chunk(reference.chunkID, expiry: reference.expiry)
    }

    /// The canonical bytes of the chunk with `id` expiring at `expiry`, as
    /// served to peers, or nil. One copy out of the map, no decoding.
    public func chunkBytes(_ id: ChunkID, expiry: Int64) throws -> [UInt8]? {
        try withChunkBytes(id, expiry: expiry) { Array($0) }
    }

    /// Lends the canonical bytes of the chunk with `id` expiring at `expiry`
    /// to `body` straight from the memory map, without copying, or returns
    /// nil when the chunk is not held. The buffer is valid only inside
    /// `body`, which runs in a read snapshot: copy what must outlive it (into
    /// a network buffer, say) there.
    public func withChunkBytes<R>(
        _ id: ChunkID, expiry: Int64, _ body: (UnsafeRawBufferPointer) throws -> R
    ) throws -> R? {
        try snapshot { txn in
            try txn.withValue(forKey: Keys.chunk(expiry, id), in: tables.chunks) { value -> R in
                guard value.count > ChunkRecord.headerSize else {
                    throw ChunkStoreError(.corruptRecord, "chunk record \(id) is shorter than its header")
                }
                return try body(UnsafeRawBufferPointer(rebasing: value[ChunkRecord.headerSize...]))
            }
        }
    }

    /// The summary of the chunk with `id` expiring at `expiry`, or nil.
    public func summary(of id: ChunkID, expiry: Int64) throws -> ChunkSummary? {
        try snapshot { txn in try Self.summary(id, expiry: expiry, tables, txn) }
    }

    /// The expiry of the held chunk with `id`, found without knowing it: a
    /// scan of the expiry index, so its cost grows with the store. For tools
    /// and tests; the node always knows a chunk's expiry.
    public func locate(_ id: ChunkID) throws -> Int64? {
        let target = id.bytes
        return try snapshot { txn in
            var found: Int64?
            try txn.scan(tables.byExpiry) { entry in
                guard entry.key.count == 41, entry.key[9..<41].elementsEqual(target) else { return .next }
                found = Int64(bitPattern: Keys.uint64(entry.key, at: 1))
                return .stop
            }
            return found
        }
    }

    static func summary(
        _ id: ChunkID, expiry: Int64, _ tables: Tables, _ txn: borrowing some LMDB.Transaction & ~Copyable
    ) throws -> ChunkSummary? {
        try txn.withValue(forKey: Keys.chunk(expiry, id), in: tables.chunks) { value in
            let (record, body) = try ChunkRecord.parse(value)
            return ChunkSummary(id: id, record: record, size: body.count)
        }
    }

    /// The chunks of `producer` with slots in `slots`, in slot order.
    ///
    /// The index is keyed by slot, then producer: over a narrow range this is
    /// one seek per slot that has chunks; over a range wider than
    /// `slotSeekLimit` it reads every row in the range instead.
    public func chunks(producer: NodeID, slots: ClosedRange<UInt64>) throws -> [ChunkSummary] {
        try snapshot { txn in
            var found: [ChunkSummary] = []
            let bounds = try txn.withCursor(on: tables.bySlotProducer) { cursor -> ClosedRange<UInt64>? in
                guard let first = try cursor.first(), let last = try cursor.last() else { return nil }
                let low = max(slots.lowerBound, Keys.uint64(first.key, at: 0))
                let high = min(slots.upperBound, Keys.uint64(last.key, at: 0))
                return low <= high ? low...high : nil
            }
            guard let bounds else { return found }
            if bounds.upperBound - bounds.lowerBound < Self.slotSeekLimit {
                for slot in bounds {
                    try txn.scan(tables.bySlotProducer, in: .prefix(Keys.slotProducerPrefix(slot, producer))) { entry in
                        if let summary = try Self.summary(indexedBy: entry, tables, txn) { found.append(summary) }
                        return .next
                    }
                }
            } else {
                var lower: [UInt8] = []
                Keys.append(bounds.lowerBound, to: &lower)
                var upper: [UInt8]? = nil
                if bounds.upperBound < .max {
                    var bound: [UInt8] = []
                    Keys.append(bounds.upperBound + 1, to: &bound)
                    upper = bound
                }
                try txn.scan(tables.bySlotProducer, in: KeyRange(lower: lower, upper: upper)) { entry in
                    guard entry.key.count == Keys.slotProducerSize, entry.key[8..<28].elementsEqual(producer.bytes)
                    else { return .next }
                    if let summary = try Self.summary(indexedBy: entry, tables, txn) { found.append(summary) }
                    return .next
                }
            }
            return found
        }
    }

    /// The summary of the chunk a `by_slot_producer` row names, or nil when
    /// it is not held.
    static func summary(
        indexedBy entry: Entry, _ tables: Tables, _ txn: borrowing some LMDB.Transaction & ~Copyable
    ) throws -> ChunkSummary? {
        guard entry.key.count == Keys.slotProducerSize, entry.value.count == 8 else {
            throw ChunkStoreError(
                .corruptRecord, "by_slot_producer row of \(entry.key.count)+\(entry.value.count) bytes")
        }
        let id = try ChunkID(bytes: entry.key[28...])
        return try summary(id, expiry: Int64(bitPattern: Keys.uint64(entry.value, at: 0)), tables, txn)
    }

    /// Above this many slots, `chunks(producer:slots:)` reads the range
    /// instead of seeking slot by slot.
    static let slotSeekLimit: UInt64 = 4_096

    /// Chunks of `status` expiring in `expiries`, in expiry order, at most
    /// `limit` of them.
    public func chunks(status: ChunkStatus, expiring expiries: Range<Int64>? = nil, limit: Int = .max) throws
        -> [ChunkSummary]
    {
        let lower = Keys.expiryBound(status, expiries?.lowerBound ?? 0)
        let upper = expiries.map { Keys.expiryBound(status, $0.upperBound) } ?? [status.rawValue + 1]
        return try snapshot { txn in
            var found: [ChunkSummary] = []
            guard limit > 0 else { return found }
            try txn.scan(tables.byExpiry, in: KeyRange(lower: lower, upper: upper)) { entry in
                let id = try ChunkID(bytes: entry.key[9..<41])
                let expiry = Int64(bitPattern: Keys.uint64(entry.key, at: 1))
                if let summary = try Self.summary(id, expiry: expiry, tables, txn) { found.append(summary) }
                return found.count < limit ? .next : .stop
            }
            return found
        }
    }

    /// The chunk this node signed for `producer` at `slot`, if any.
    public func signedChunk(producer: NodeID, slot: UInt64) throws -> ChunkID? {
        try snapshot { txn in
            try txn.withValue(forKey: Keys.perProducer(producer, slot), in: tables.signed) {
                try SignedRecord($0).chunkID
            }
        }
    }

    /// The units `producer` used in rate-limit window `window`.
    public func ledgerUsage(producer: NodeID, window: UInt64) throws -> Dimensions {
        try snapshot { txn in
            try txn.withValue(forKey: Keys.perProducer(producer, window), in: tables.ledger) {
                try Dimensions(fixedBytes: $0)
            } ?? .zero
        }
    }

    /// The garbage-collection watermark: chain time (ms) at or below which
    /// chunks count as expired. It only moves forward.
    public func watermark() throws -> Int64 {
        try snapshot { txn in try meta.watermark(txn) }
    }
}
