import ChunkStore
import DSMR

/// What `recover()` rebuilt and what it had to drop.
public struct RecoveryReport: Sendable, Hashable, Codable {
    /// Chunk records kept and re-indexed.
    public var chunksKept = 0
    /// Chunk records dropped because they do not hash to their id or do not
    /// decode; their `signed` rows stay, so the node still refuses to sign
    /// another chunk for those slots.
    public var chunksDropped = 0
    /// Chunk records whose header was damaged but whose bytes still hash to
    /// their id: kept, with the header rebuilt from the chunk, its key and
    /// the other tables.
    public var headersRebuilt = 0
    /// Index rows written (`by_slot_producer` and `by_expiry`).
    public var indexRowsWritten = 0
    /// Ledger rows rewritten.
    public var ledgerRowsRewritten = 0
    /// `signed` rows added for held chunks that lacked one.
    public var signedRowsAdded = 0
    /// `signed` rows that did not decode or named a chunk of another producer
    /// or slot, rewritten (see `StoreRecovery`).
    public var signedRowsRewritten = 0
    /// `signed` rows whose chunk is lost, kept (so the slot stays protected)
    /// and marked as not held.
    public var signedRowsMarkedNotHeld = 0
    /// Certificate rows dropped because they do not decode or name another
    /// chunk.
    public var certificatesDropped = 0
    /// Keys of the wrong shape dropped from derived tables.
    public var malformedKeysDropped = 0
    /// What `check()` still finds after the repairs: damage recovery cannot
    /// undo (evidence, blocks or `meta` that do not decode).
    public var unrepaired: [StoreProblem] = []
}

/// Rebuilds every derived row from the primary records.
///
/// Primary: chunk records (self-checking: their key is their hash),
/// certificates, `signed` rows, evidence, blocks, `meta`. Derived: the two
/// chunk indexes and the ledgers. A ledger is set to what the held chunks
/// imply where they account for its whole window; where some of the window's
/// chunks were collected or lost, or a `signed` row of the window had to be
/// rewritten, it is only raised, never lowered. A ledger row that does not
/// decode is replaced by the implied usage.
///
/// Every problem `check()` calls repairable is repaired here:
/// - a record whose header is damaged but whose chunk hashes to its id gets
///   its header rebuilt (`RecordHeaderRebuild`); other damaged records are
///   dropped, and their `signed` rows kept, marked not held;
/// - a `signed` row that does not decode is rewritten: for the held chunk of
///   its producer and slot when there is one, otherwise as a row that names
///   no chunk and so refuses every chunk for the slot; a row naming a chunk
///   of another producer or slot is likewise replaced or marked not held;
/// - keys of the wrong size in `signed`, `ledger` and `evidence` are dropped:
///   no lookup can reach them, so they protect nothing;
/// - certificates that do not decode, or name another chunk or disagree with
///   the held one, are dropped.
/// What `check()` still finds afterwards is reported as `unrepaired`.
struct StoreRecovery {
    let rules: Rules
    let limits: DecodingLimits
    let node: NodeID
    let measure: @Sendable (Chunk, Int) throws -> Dimensions
    let domain: SigningDomain
    /// Never lower a ledger row, not even in a window the held chunks seem
    /// to account for: set when rows may have been lost with their `signed`
    /// rows (salvage), so the held chunks prove nothing about the window.
    var neverLowerLedgers = false

    func recover(_ w: borrowing StoreWriter) throws -> RecoveryReport {
        var report = RecoveryReport()
        let watermark = try w.watermark()
        let liveSlot = StoreChecker.firstUncollectedSlot(watermark: watermark, rules: rules, w)
        report.headersRebuilt = try RecordHeaderRebuild(node: node, limits: limits, measure: measure).run(w)
        try w.clear(w.tables.bySlotProducer)
        try w.clear(w.tables.byExpiry)

        var implied: [StoreChecker.LedgerKey: Dimensions] = [:]
        var raiseOnly = Set<StoreChecker.LedgerKey>()
        try w.scan(w.tables.chunks) { entry in
            guard let key = try? entry.key() else {
                report.malformedKeysDropped += 1
                return .delete
            }
            guard let parsed = try? ChunkRecord.parse(entry.raw.value), ChunkID(hashing: parsed.body) == key.id,
                expiryBits(key.expiry) == expiryBits(parsed.record.expiry),
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
                if try repairSignedRow(of: record, id: key.id, &report, w) { raiseOnly.insert(ledgerKey) }
            }
            return .next
        }
        try w.scan(w.tables.signed) { entry in
            guard let key = try? entry.key() else {
                report.malformedKeysDropped += 1
                return .delete
            }
            guard let signed = try? entry.value() else {
                // Signed for a chunk no longer known: refuse every chunk.
                let tombstone = SignedRecord(
                    chunkID: .zero, expiry: rules.expiry(ofSlot: key.number), notHeld: true, charged: true)
                try w.put(w.tables.signed, key, tombstone)
                report.signedRowsRewritten += 1
                return .next
            }
            guard !signed.notHeld else { return .next }
            let held = (try? w.chunkRecord(signed.chunkKey)) ?? nil
            if let held, held.producer == key.producer && held.slot == key.number { return .next }
            try w.put(w.tables.signed, key, signed.lost)
            report.signedRowsMarkedNotHeld += 1
            return .next
        }
        try w.scan(w.tables.evidence) { entry in
            guard (try? entry.key()) == nil else { return .next }
            report.malformedKeysDropped += 1
            return .delete
        }
        let checker = StoreChecker(rules: rules, limits: limits, domain: domain)
        let unseen = try checker.windowsWithUnheldChunks(w).union(raiseOnly)
        try rebuildLedger(implied, liveSlot: liveSlot, unseen: unseen, &report, w)
        try w.scan(w.tables.certificates) { entry in
            guard let key = try? entry.key(), let certificate = try? entry.value().decode(limits: limits),
                certificate.reference.chunkID == key.id,
                expiryBits(certificate.reference.expiry) == expiryBits(key.expiry),
                agrees(certificate.reference, key: key, w)
            else {
                report.certificatesDropped += 1
                return .delete
            }
            return .next
        }
        report.unrepaired = try checker.check(w).problems
        return report
    }

    /// Makes the `signed` row of a held chunk that counts towards the ledger
    /// name it, unless it names another held chunk of the same producer and
    /// slot (two signed chunks in one slot is not damage recovery can undo).
    /// Returns whether the row was rewritten.
    private func repairSignedRow(
        of record: ChunkRecord, id: ChunkID, _ report: inout RecoveryReport, _ w: borrowing StoreWriter
    ) throws -> Bool {
        let key = ProducerKey(record.producer, record.slot)
        let held = SignedRecord.held(id, expiry: record.expiry)
        guard try w.contains(w.tables.signed, key) else {
            try w.put(w.tables.signed, key, held)
            report.signedRowsAdded += 1
            return false
        }
        if let row = (try? w.get(w.tables.signed, key)) ?? nil {
            if row.chunkID == id { return false }
            let other = (try? w.chunkRecord(row.chunkKey)) ?? nil
            if let other, other.producer == record.producer && other.slot == record.slot { return false }
        }
        try w.put(w.tables.signed, key, held)
        report.signedRowsRewritten += 1
        return true
    }

    /// Whether a certificate agrees with the chunk it names, when that chunk
    /// is held.
    private func agrees(_ reference: ChunkReference, key: ChunkKey, _ w: borrowing StoreWriter) -> Bool {
        guard let record = (try? w.chunkRecord(key)) ?? nil else { return true }
        return record.producer == reference.producer && record.slot == reference.slot
            && record.expiry == reference.expiry
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
            let whole =
                !unseen.contains(key) && StoreChecker.isWhole(window: key.window, liveSlot: liveSlot, rules: rules)
            let rebuilt = whole && !neverLowerLedgers ? expected : Self.maximum(stored, expected)
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
