import DSMR
import LMDB

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
    let tables: Tables
    let rules: Rules
    let limits: DecodingLimits

    func recover(_ txn: borrowing WriteTransaction) throws -> RecoveryReport {
        var report = RecoveryReport()
        let watermark = try MetaAccess(table: tables.meta).watermark(txn)
        let liveSlot = GarbageCollector.firstLiveSlot(watermark: watermark, rules: rules) ?? .max
        try txn.clear(tables.bySlotProducer)
        try txn.clear(tables.byExpiry)

        var implied: [StoreChecker.LedgerKey: Dimensions] = [:]
        try txn.scan(tables.chunks) { entry in
            guard entry.key.count == Keys.chunkKeySize, let id = try? ChunkID(bytes: entry.key[8...]),
                let parsed = try? ChunkRecord.parse(entry.value), ChunkID(hashing: parsed.body) == id,
                Keys.uint64(entry.key, at: 0) == Keys.expiryBits(parsed.record.expiry),
                StoreChecker.disagreement(parsed.record, body: parsed.body, limits: limits) == nil
            else {
                report.chunksDropped += 1
                return .delete
            }
            let record = parsed.record
            try txn.put(
                Keys.expiryValue(record.expiry), forKey: Keys.slotProducer(record.slot, record.producer, id),
                in: tables.bySlotProducer)
            try txn.put([UInt8](), forKey: Keys.expiry(record.status, record.expiry, id), in: tables.byExpiry)
            report.indexRowsWritten += 2
            report.chunksKept += 1
            if record.origin.countsTowardsLedger && record.slot >= liveSlot {
                let key = StoreChecker.LedgerKey(producer: record.producer, window: rules.window(ofSlot: record.slot))
                implied[key] = (try? (implied[key] ?? .zero).adding(record.units)) ?? implied[key]
                let signedKey = Keys.perProducer(record.producer, record.slot)
                if try !txn.contains(signedKey, in: tables.signed) {
                    try txn.put(
                        SignedRecord.held(id, expiry: record.expiry).bytes, forKey: signedKey,
                        in: tables.signed)
                    report.signedRowsAdded += 1
                }
            }
            return .next
        }
        try txn.scan(tables.signed) { entry in
            guard let signed = try? SignedRecord(entry.value), !signed.notHeld,
                try !txn.contains(signed.chunkKey, in: tables.chunks)
            else { return .next }
            try txn.put(
                signed.lost.bytes,
                forKey: Array(entry.key), in: tables.signed)
            report.signedRowsMarkedNotHeld += 1
            return .next
        }
        let checker = StoreChecker(tables: tables, rules: rules, limits: limits)
        let unseen = try checker.windowsWithUnheldChunks(txn)
        try rebuildLedger(implied, liveSlot: liveSlot, unseen: unseen, &report, txn)
        try txn.scan(tables.certificates) { entry in
            guard entry.key.count == 40, let id = try? ChunkID(bytes: entry.key[8..<40]),
                let certificate = try? ChunkStore.decodeCertificate(entry.value, limits: limits),
                certificate.reference.chunkID == id,
                Keys.expiryBits(certificate.reference.expiry) == Keys.uint64(entry.key, at: 0)
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
        _ report: inout RecoveryReport, _ txn: borrowing WriteTransaction
    ) throws {
        var pending = implied
        try txn.scan(tables.ledger) { entry in
            guard let (producer, window) = Keys.parsePerProducer(entry.key) else {
                report.malformedKeysDropped += 1
                return .delete
            }
            let key = StoreChecker.LedgerKey(producer: producer, window: window)
            let expected = pending.removeValue(forKey: key) ?? .zero
            guard let stored = try? Dimensions(fixedBytes: entry.value) else {
                try txn.put(expected.fixedBytes, forKey: Array(entry.key), in: tables.ledger)
                report.ledgerRowsRewritten += 1
                return .next
            }
            let whole = !unseen.contains(key) && StoreChecker.isWhole(window: key.window, liveSlot: liveSlot, rules: rules)
            let rebuilt = whole ? expected : Self.maximum(stored, expected)
            if rebuilt != stored {
                try txn.put(rebuilt.fixedBytes, forKey: Array(entry.key), in: tables.ledger)
                report.ledgerRowsRewritten += 1
            }
            return .next
        }
        for (key, units) in pending {
            try txn.put(units.fixedBytes, forKey: Keys.perProducer(key.producer, key.window), in: tables.ledger)
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

extension ChunkStore {
    /// Rebuilds every derived row (chunk indexes, ledgers, missing `signed`
    /// rows) from the primary records, in place and in one transaction, and
    /// drops what cannot be trusted (chunk records that do not hash to their
    /// id, certificates that do not decode). Run `check()` afterwards.
    public func recover() async throws -> RecoveryReport {
        let recovery = StoreRecovery(
            tables: tables, rules: configuration.rules, limits: DecodingLimits(rules: configuration.rules))
        return try await submit { txn in try recovery.recover(txn) }
    }

    /// Copies the store, compacted, into the empty directory `destination`
    /// (created if missing), leaving this store untouched. The copy is
    /// flushed to disk before this returns (LMDB's copy does not sync).
    ///
    /// The corresponding C call is `mdb_env_copy2` with `MDB_CP_COMPACT`.
    public func compact(to destination: String) throws {
        let createdDirectory = try FileSystem.makeDirectory(destination)
        try environment.copy(to: destination, compact: true)
        try FileSystem.syncFile(destination + "/data.mdb")
        try FileSystem.syncDirectory(destination)
        if createdDirectory { try FileSystem.syncDirectory(FileSystem.parent(of: destination)) }
    }

    /// Copies the store, compacted, into `destination`, then rebuilds the
    /// copy's derived rows there: recovery that leaves the original as it was.
    public func recover(into destination: String) async throws -> RecoveryReport {
        try compact(to: destination)
        var copy = configuration
        copy.path = destination
        copy.readOnly = false
        let store = try ChunkStore(copy)
        defer { store.close() }
        return try await store.recover()
    }
}
