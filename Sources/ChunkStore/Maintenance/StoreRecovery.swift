import DSMR

/// What `recover()` rebuilt and what it had to drop.
public struct RecoveryReport: Sendable, Hashable, Codable {
    /// Chunk records kept and re-indexed.
    public var chunksKept = 0
    /// Chunk records dropped because they do not hash to their id or do not
    /// decode; their `signed` rows stay, so the node still refuses to sign
    /// another chunk for those slots.
    public var chunksDropped = 0
    /// Index rows written (`by_slot_producer` and `by_expiry`).
    public var indexRowsWritten = 0
    /// Ledger rows rewritten.
    public var ledgerRowsRewritten = 0
    /// `signed` rows added for held chunks that lacked one.
    public var signedRowsAdded = 0
    /// `signed` rows whose chunk is lost, kept (so the slot stays protected)
    /// and marked as not held.
    public var signedRowsMarkedNotHeld = 0
    /// Certificate rows dropped because they do not decode or name another
    /// chunk.
    public var certificatesDropped = 0
    /// Keys of the wrong shape dropped from derived tables.
    public var malformedKeysDropped = 0
}

/// Rebuilds every derived row from the primary records.
///
/// Primary: chunk records (self-checking: their key is their hash),
/// certificates, `signed` rows, evidence, blocks, `meta`. Derived: the two
/// chunk indexes and the ledgers. A ledger is set to what the held chunks
/// imply where they account for its whole window; where some of the window's
/// chunks were collected or lost, it is only raised, never lowered. A ledger
/// row that does not decode is replaced by the implied usage.
struct StoreRecovery {
    let rules: Rules
    let limits: DecodingLimits

    func recover(_ w: borrowing StoreWriter) throws -> RecoveryReport {
        var report = RecoveryReport()
        let watermark = try w.watermark()
        let liveSlot = StoreChecker.firstUncollectedSlot(watermark: watermark, rules: rules, w)
        try w.clear(w.tables.bySlotProducer)
        try w.clear(w.tables.byExpiry)

        var implied: [StoreChecker.LedgerKey: Dimensions] = [:]
        try w.scan(w.tables.chunks) { entry in
            guard let key = try? entry.key(), let parsed = try? ChunkRecord.parse(entry.raw.value),
                ChunkID(hashing: parsed.body) == key.id, expiryBits(key.expiry) == expiryBits(parsed.record.expiry),
                StoreChecker.disagreement(parsed.record, body: parsed.body, limits: limits) == nil
            else {
                report.chunksDropped += 1
                return .delete
            }
            let record = parsed.record
            try w.putIndexRows(record, id: key.id)
            report.indexRowsWritten += 2
            report.chunksKept += 1
            if record.origin.countsTowardsLedger && record.slot >= liveSlot {
                let ledgerKey = StoreChecker.LedgerKey(
                    producer: record.producer, window: rules.window(ofSlot: record.slot))
                implied[ledgerKey] = (try? (implied[ledgerKey] ?? .zero).adding(record.units)) ?? implied[ledgerKey]
                let signedKey = ProducerKey(record.producer, record.slot)
                if try !w.contains(w.tables.signed, signedKey) {
                    try w.put(w.tables.signed, signedKey, SignedRecord.held(key.id, expiry: record.expiry))
                    report.signedRowsAdded += 1
                }
            }
            return .next
        }
        try w.scan(w.tables.signed) { entry in
            guard let signed = try? entry.value(), !signed.notHeld, try !w.contains(w.tables.chunks, signed.chunkKey)
            else { return .next }
            try w.put(w.tables.signed, rawKey: entry.raw.key, signed.lost)
            report.signedRowsMarkedNotHeld += 1
            return .next
        }
        let checker = StoreChecker(rules: rules, limits: limits)
        let unseen = try checker.windowsWithUnheldChunks(w)
        try rebuildLedger(implied, liveSlot: liveSlot, unseen: unseen, &report, w)
        try w.scan(w.tables.certificates) { entry in
            guard let key = try? entry.key(), let certificate = try? entry.value().decode(limits: limits),
                certificate.reference.chunkID == key.id,
                expiryBits(certificate.reference.expiry) == expiryBits(key.expiry)
            else {
                report.certificatesDropped += 1
                return .delete
            }
            return .next
        }
        return report
    }

    /// Sets each ledger row to what the held chunks imply where they account
    /// for the whole window; elsewhere raises it to that and never lowers it.
    private func rebuildLedger(
        _ implied: [StoreChecker.LedgerKey: Dimensions], liveSlot: UInt64, unseen: Set<StoreChecker.LedgerKey>,
        _ report: inout RecoveryReport, _ w: borrowing StoreWriter
    ) throws {
        var pending = implied
        try w.scan(w.tables.ledger) { entry in
            guard let rowKey = try? entry.key() else {
                report.malformedKeysDropped += 1
                return .delete
            }
            let key = StoreChecker.LedgerKey(producer: rowKey.producer, window: rowKey.number)
            let expected = pending.removeValue(forKey: key) ?? .zero
            guard let stored = try? entry.value() else {
                try w.put(w.tables.ledger, rowKey, expected)
                report.ledgerRowsRewritten += 1
                return .next
            }
            let whole = !unseen.contains(key) && StoreChecker.isWhole(window: key.window, liveSlot: liveSlot, rules: rules)
            let rebuilt = whole ? expected : Self.maximum(stored, expected)
            if rebuilt != stored {
                try w.put(w.tables.ledger, rowKey, rebuilt)
                report.ledgerRowsRewritten += 1
            }
            return .next
        }
        for (key, units) in pending {
            try w.put(w.tables.ledger, ProducerKey(key.producer, key.window), units)
            report.ledgerRowsRewritten += 1
        }
    }

    static func maximum(_ a: Dimensions, _ b: Dimensions) -> Dimensions {
        Dimensions(
            bandwidth: max(a.bandwidth, b.bandwidth), compute: max(a.compute, b.compute),
            storageRead: max(a.storageRead, b.storageRead), storageAllocate: max(a.storageAllocate, b.storageAllocate),
            storageWrite: max(a.storageWrite, b.storageWrite))
    }
}
