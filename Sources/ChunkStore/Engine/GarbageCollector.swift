import DSMR
import LMDB

/// Removes what can no longer be valid, walking only what expired.
///
/// `by_expiry` is keyed by status first, so pending chunks are walked up to
/// the watermark and accepted ones up to the watermark less their retention:
/// the cost is the rows removed, not the store's size. Records in `chunks`
/// are keyed by expiry first, so those that expire together share pages.
/// Certificates are kept as long as their chunks (accepted ones for the
/// accepted retention) and blocks for the block retention, the accepted tip
/// always.
/// `signed`, `ledger` and `evidence` are keyed by slot (or window) first, so
/// each is pruned as one range from its start; `by_slot_producer` is keyed
/// by slot first, so its expired rows are neighbours too.
package struct GarbageCollector {
    let rules: Rules
    let acceptedRetention: Int64
    let evidenceRetention: Int64
    let blockRetention: Int64

    /// Collects what `watermark` expires; `previous` is the watermark of the
    /// last collection, so rows kept then are not walked again.
    package func collect(
        from previous: Int64, upTo watermark: Int64, _ w: borrowing StoreWriter
    ) throws -> GarbageReport {
        var report = GarbageReport()
        report.watermark = watermark
        var collectedSlots = try removeChunks(.pending, expiringBy: watermark, &report, w)
        let (acceptedLimit, underflow) = watermark.subtractingReportingOverflow(acceptedRetention)
        if !underflow {
            collectedSlots = max(collectedSlots, try removeChunks(.accepted, expiringBy: acceptedLimit, &report, w))
        }
        try removeCertificates(
            from: previous, upTo: watermark, acceptedLimit: underflow ? nil : acceptedLimit, &report, w)
        try removeBlocks(upTo: watermark, &report, w)

        let liveSlot = Self.firstLiveSlot(watermark: watermark, rules: rules)
        // Once a slot's `signed` rows are gone, nothing may ever sign in it
        // again, whatever the rules say later. Nor in a slot whose chunks were
        // collected: after a longer chunk lifetime, chunks stored under the
        // old one expire in slots the new rules still call live, and their
        // windows' ledgers must not look complete without them.
        try w.raiseSigningFloor(to: max(liveSlot ?? .max, collectedSlots))
        var (count, visited) = try prune(w.tables.signed, below: liveSlot, w)
        report.signedRows = count
        report.rowsVisited += visited
        (count, visited) = try prune(w.tables.ledger, below: liveSlot.map(rules.window(ofSlot:)), w)
        report.ledgerRows = count
        report.rowsVisited += visited
        let (evidenceLimit, evidenceUnderflow) = watermark.subtractingReportingOverflow(evidenceRetention)
        if !evidenceUnderflow {
            (count, visited) = try prune(
                w.tables.evidence, below: Self.firstLiveSlot(watermark: evidenceLimit, rules: rules), w)
            report.evidenceRows = count
            report.rowsVisited += visited
        }
        return report
    }

    /// Certificates live as long as their chunks: every row up to the
    /// accepted limit goes, and above it the pending rows up to the
    /// watermark. Pending rows at or below `previous` went in an earlier
    /// collection (none are added there: `addCertificate` refuses them), so
    /// only the rows the watermark passed since are walked.
    private func removeCertificates(
        from previous: Int64, upTo watermark: Int64, acceptedLimit: Int64?, _ report: inout GarbageReport,
        _ w: borrowing StoreWriter
    ) throws {
        if let acceptedLimit {
            // Expiries saturate at Int64.max: there the bound is open.
            let all = KeyRange(upper: acceptedLimit == .max ? nil : ChunkKey.bound(expiry: acceptedLimit + 1))
            let removed = try w.scan(w.tables.certificates, in: all) { _ in .delete }
            report.certificates += removed
            report.rowsVisited += removed
        }
        let lower = max(previous, acceptedLimit ?? 0, -1)
        guard lower < watermark else { return }
        let pendingRange = KeyRange(
            lower: ChunkKey.bound(expiry: lower + 1),
            upper: watermark == .max ? nil : ChunkKey.bound(expiry: watermark + 1))
        var removed = 0
        let visited = try w.scan(w.tables.certificates, in: pendingRange) { entry in
            // The status is in the value's first byte (with the checked-form
            // flag); a row that does not decode is not kept for an accepted
            // chunk.
            let status = entry.raw.value.first.map { $0 & ~CertificateRow.checkedForm }
            if status == ChunkStatus.accepted.rawValue { return .next }
            removed += 1
            return .delete
        }
        report.certificates += removed
        report.rowsVisited += visited
    }

    /// Accepted blocks older than their retention (at least the validity
    /// window), from the lowest height up, never the accepted tip, never one
    /// not yet executed (a node resumes execution from the executed tip) and
    /// never the newest one older than the retention (the parent a block
    /// verification reads last). A block is read only for its
    /// timestamp; a damaged one stops the walk (and is kept for `check` to
    /// report).
    private func removeBlocks(
        upTo watermark: Int64, _ report: inout GarbageReport, _ w: borrowing StoreWriter
    )
        throws
    {
        // Verifying a block walks its ancestors back over the validity
        // window and reads the one before it: keep at least that much.
        let retention = max(blockRetention, rules.validityWindow)
        let (limit, underflow) = watermark.subtractingReportingOverflow(retention)
        // A damaged tip stops only this pruning (check reports it), not the collection.
        guard !underflow, let tip = (try? w.acceptedTip()) ?? nil, let executed = (try? w.executedTip()) ?? nil
        else { return }
        let end = min(tip.height, executed.addingReportingOverflow(1).overflow ? .max : executed + 1)
        let timestampOffset = 1 + BlockID.byteCount + 8
        // A block past its retention goes only when the next one is past it
        // too: the newest block older than the window stays, as its parent.
        var expired: [[UInt8]] = []
        let visited = try w.scan(w.tables.blocks, in: KeyRange(upper: HeightKey(end).encoded)) { entry in
            let value = entry.raw.value
            guard value.count >= timestampOffset + 8 else { return .stop }
            var reader = RowReader(UnsafeRawBufferPointer(rebasing: value[timestampOffset...]), "a block's timestamp")
            guard let timestamp = try? reader.int64(), timestamp <= limit else { return .stop }
            expired.append(Array(entry.raw.key))
            return .next
        }
        for key in expired.dropLast() {
            try key.withUnsafeBytes { _ = try w.delete(w.tables.blocks, rawKey: $0) }
        }
        report.blocks += max(expired.count - 1, 0)
        report.rowsVisited += visited
    }

    /// The first slot whose chunks expire after `watermark`, or nil when none
    /// can (the watermark is Int64.max, where expiries saturate).
    package static func firstLiveSlot(watermark: Int64, rules: Rules) -> UInt64? {
        watermark == .max ? nil : liveSlot(after: watermark, rules: rules)
    }

    /// The first slot whose chunks expire after `watermark` (below Int64.max).
    private static func liveSlot(after watermark: Int64, rules: Rules) -> UInt64 {
        let (start, underflow) = watermark.subtractingReportingOverflow(rules.chunkLifetime)
        if underflow || start < 0 { return rules.expiry(ofSlot: 0) > watermark ? 0 : 1 }
        var slot = rules.slot(at: start)
        while slot > 0 && rules.expiry(ofSlot: slot - 1) > watermark { slot -= 1 }
        while rules.expiry(ofSlot: slot) <= watermark { slot += 1 }
        return slot
    }

    /// Removes the chunks of `status` expiring by `limit`; returns the slot
    /// after the highest one removed (0 when none was).
    private func removeChunks(
        _ status: ChunkStatus, expiringBy limit: Int64, _ report: inout GarbageReport, _ w: borrowing StoreWriter
    ) throws -> UInt64 {
        let range = KeyRange(
            lower: ExpiryIndexKey.bound(status, expiry: 0),
            upper: limit == .max ? ExpiryIndexKey.end(status) : ExpiryIndexKey.bound(status, expiry: limit + 1))
        let limits = DecodingLimits(rules: rules)
        var damaged = 0
        var collectedSlots: UInt64 = 0
        let removed = try w.scan(w.tables.byExpiry, in: range) { entry in
            guard let key = try? entry.key().chunkKey else {
                damaged += 1
                return .delete
            }
            // The record is deleted by its key whatever it holds: a damaged
            // one must not stop the collection (and with it acceptance).
            let found = try w.withRawValue(w.tables.chunks, key) { value in
                Self.slotProducerKey(of: value, id: key.id, limits: limits)
            }
            if let found {
                if let indexKey = found.key {
                    try w.delete(w.tables.bySlotProducer, indexKey)
                    let (after, overflow) = indexKey.slot.addingReportingOverflow(1)
                    collectedSlots = max(collectedSlots, overflow ? .max : after)
                }
                if found.damaged { damaged += 1 }
                try w.delete(w.tables.chunks, key)
            }
            return .delete
        }
        report.damagedRecords += damaged
        report.rowsVisited += removed
        if status == .pending { report.expiredPending = removed } else { report.expiredAccepted = removed }
        return collectedSlots
    }

    /// The `by_slot_producer` key of the record `value` of chunk `id`: from
    /// its header, or when the header is damaged from the chunk's own bytes
    /// if they still hash to `id` (nil when neither can be trusted).
    static func slotProducerKey(
        of value: UnsafeRawBufferPointer, id: ChunkID, limits: DecodingLimits
    )
        -> (key: SlotProducerKey?, damaged: Bool)
    {
        if let header = try? ChunkRecord.parse(value).record {
            return (SlotProducerKey(slot: header.slot, producer: header.producer, id: id), false)
        }
        guard value.count > ChunkRecord.headerSize else { return (nil, true) }
        let body = Array(value[ChunkRecord.headerSize...])
        guard ChunkID(hashing: body) == id, let chunk = try? Chunk(decoding: body, limits: limits) else {
            return (nil, true)
        }
        return (SlotProducerKey(slot: chunk.slot, producer: chunk.producer, id: id), true)
    }

    /// Deletes rows keyed (number, producer) whose number is below `limit`,
    /// or every row when `limit` is nil: one contiguous range at the start of
    /// the table.
    private func prune<Value>(
        _ table: Table<ProducerKey, Value>, below limit: UInt64?, _ w: borrowing StoreWriter
    ) throws -> (deleted: Int, visited: Int) {
        let deleted = try w.scan(table, in: KeyRange(upper: limit.map(ProducerKey.bound))) { _ in .delete }
        return (deleted, deleted)
    }
}

extension Int64 {
    /// `self + other`, clamped to `Int64.max`.
    func addingSaturating(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? .max : sum
    }
}
