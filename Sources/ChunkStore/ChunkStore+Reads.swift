import DSMR
import LMDB

extension ChunkStore {
    /// The chunk with `id` expiring at `expiry`, decoded, or nil when it is
    /// not held. Chunks are found by id and expiry together, as every
    /// reference, certificate and `requestChunk` carries both.
    public func chunk(_ id: ChunkID, expiry: Int64) throws -> StoredChunk? {
        let limits = DecodingLimits(rules: configuration.rules)
        return try snapshot { r in
            try r.withRawValue(r.tables.chunks, ChunkKey(expiry: expiry, id: id)) { value -> StoredChunk in
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
    ///
    /// `body` must be quick and must not block: no waiting for a socket, a
    /// lock, a semaphore or another task, and no call that writes to this
    /// store. While it runs, the snapshot keeps the map from growing; if
    /// signing needs the map grown and `body` is still running after
    /// `StoreConfiguration.maxGrowthWait`, the waiting signing requests fail
    /// with `ChunkStoreError.Code.busy` (nothing of them is stored or
    /// signed) and other reads, held back meanwhile, go on.
    public func withChunkBytes<R>(
        _ id: ChunkID, expiry: Int64, _ body: (UnsafeRawBufferPointer) throws -> R
    ) throws -> R? {
        try snapshot { r in
            try r.withRawValue(r.tables.chunks, ChunkKey(expiry: expiry, id: id)) { value -> R in
                try body(try ChunkRecord.body(of: value))
            }
        }
    }

    /// The summary of the chunk with `id` expiring at `expiry`, or nil.
    public func summary(of id: ChunkID, expiry: Int64) throws -> ChunkSummary? {
        try snapshot { r in try r.summary(ChunkKey(expiry: expiry, id: id)) }
    }

    /// The expiry of the held chunk with `id`, found without knowing it: a
    /// scan of the expiry index, so its cost grows with the store. For tools
    /// and tests; the node always knows a chunk's expiry.
    public func locate(_ id: ChunkID) throws -> Int64? {
        try snapshot { r in
            var found: Int64?
            try r.scan(r.tables.byExpiry) { entry in
                let key = try entry.key()
                guard key.id == id else { return .next }
                found = key.expiry
                return .stop
            }
            return found
        }
    }

    /// The chunks of `producer` with slots in `slots`, in slot order.
    ///
    /// The index is keyed by slot, then producer: over a narrow range this is
    /// one seek per slot that has chunks; over a range wider than
    /// `slotSeekLimit` it reads every row in the range instead.
    public func chunks(producer: NodeID, slots: ClosedRange<Slot>) throws -> [ChunkSummary] {
        try snapshot { r in
            var found: [ChunkSummary] = []
            let index = r.tables.bySlotProducer
            guard let first = try r.edgeKey(index, last: false), let last = try r.edgeKey(index, last: true) else {
                return found
            }
            let low = max(slots.lowerBound.number, first.slot)
            let high = min(slots.upperBound.number, last.slot)
            guard low <= high else { return found }
            if high - low < Self.slotSeekLimit {
                for slot in low...high {
                    try r.scan(index, in: .prefix(SlotProducerKey.prefix(slot: slot, producer: producer))) { entry in
                        if let summary = try r.summary(indexedBy: entry) { found.append(summary) }
                        return .next
                    }
                }
            } else {
                let upper = high < .max ? SlotProducerKey.bound(slot: high + 1) : nil
                try r.scan(index, in: KeyRange(lower: SlotProducerKey.bound(slot: low), upper: upper)) { entry in
                    guard try entry.key().producer == producer else { return .next }
                    if let summary = try r.summary(indexedBy: entry) { found.append(summary) }
                    return .next
                }
            }
            return found
        }
    }

    /// Above this many slots, `chunks(producer:slots:)` reads the range
    /// instead of seeking slot by slot.
    static let slotSeekLimit: UInt64 = 4_096

    /// Chunks of `status` expiring in `expiries`, in expiry order, at most
    /// `limit` of them.
    public func chunks(
        status: ChunkStatus, expiring expiries: Range<Int64>? = nil, limit: Int = .max
    ) throws
        -> [ChunkSummary]
    {
        let lower = ExpiryIndexKey.bound(status, expiry: expiries?.lowerBound ?? 0)
        let upper = expiries.map { ExpiryIndexKey.bound(status, expiry: $0.upperBound) } ?? ExpiryIndexKey.end(status)
        return try snapshot { r in
            var found: [ChunkSummary] = []
            guard limit > 0 else { return found }
            try r.scan(r.tables.byExpiry, in: KeyRange(lower: lower, upper: upper)) { entry in
                if let summary = try r.summary(try entry.key().chunkKey) { found.append(summary) }
                return found.count < limit ? .next : .stop
            }
            return found
        }
    }

    /// The chunk this node signed for `producer` at `slot`, if any.
    public func signedChunk(producer: NodeID, slot: Slot) throws -> ChunkID? {
        try snapshot { r in try r.signedRecord(producer: producer, slot: slot.number)?.chunkID }
    }

    /// The units `producer` used in rate-limit window `window`.
    public func ledgerUsage(producer: NodeID, window: UInt64) throws -> Dimensions {
        try snapshot { r in try r.ledgerUsage(producer: producer, window: window) }
    }

    /// The garbage-collection watermark: chain time (ms) at or below which
    /// chunks count as expired. It only moves forward.
    public func watermark() throws -> Int64 {
        try snapshot { r in try r.watermark() }
    }

    /// Every piece of conflict evidence held, by slot and producer.
    public func evidence() throws -> [ConflictEvidence] {
        let limits = DecodingLimits(rules: configuration.rules)
        return try snapshot { r in
            var found: [ConflictEvidence] = []
            try r.scan(r.tables.evidence) { entry in
                found.append(try ConflictEvidence(key: try entry.key(), row: try entry.value(), limits: limits))
                return .next
            }
            return found
        }
    }
}
