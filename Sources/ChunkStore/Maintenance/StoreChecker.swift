import DSMR
import LMDB

/// Reads every row of a store and reports each inconsistency.
struct StoreChecker {
    let tables: Tables
    let rules: Rules
    let limits: DecodingLimits
    var progress = ProgressCounter(nil)

    /// Units implied by stored chunks, per (producer, window).
    typealias ImpliedLedger = [LedgerKey: Dimensions]

    struct LedgerKey: Hashable {
        let producer: NodeID
        let window: UInt64
    }

    func check(_ txn: borrowing some LMDB.Transaction & ~Copyable) throws -> CheckReport {
        var report = CheckReport()
        let watermark = try checkMeta(&report, txn)
        let liveSlot = GarbageCollector.firstLiveSlot(watermark: watermark, rules: rules) ?? .max
        let implied = try checkChunks(liveSlot: liveSlot, &report, txn)
        try checkSlotProducerIndex(&report, txn)
        try checkExpiryIndex(&report, txn)
        try checkLedger(implied, liveSlot: liveSlot, &report, txn)
        try checkSigned(liveSlot: liveSlot, &report, txn)
        try checkCertificates(&report, txn)
        try checkEvidence(&report, txn)
        try checkBlocks(&report, txn)
        return report
    }

    /// Reads every row of `table` with `body`, counting rows and reporting
    /// progress.
    private func visit(
        _ table: Database, _ report: inout CheckReport, _ txn: borrowing some LMDB.Transaction & ~Copyable,
        _ body: (Entry, inout CheckReport) throws -> Void
    ) throws {
        progress.begin("checking " + table.name, total: try txn.count(of: table))
        defer { progress.end() }
        try txn.scan(table) { entry in
            report.count(table.name)
            progress.tick()
            try body(entry, &report)
            return .next
        }
    }

    // MARK: meta

    private func checkMeta(_ report: inout CheckReport, _ txn: borrowing some LMDB.Transaction & ~Copyable) throws
        -> Int64
    {
        let meta = MetaAccess(table: tables.meta)
        for key in MetaKey.all { if try txn.contains(key, in: tables.meta) { report.count(Schema.meta) } }
        do {
            if try StoreIdentity.load(meta, txn) == nil {
                report.add(.metaInvalid, Schema.meta, MetaKey.version, "no schema version")
            }
        } catch {
            report.add(.metaInvalid, Schema.meta, MetaKey.version, "\(error)")
        }
        var watermark: Int64 = 0
        do {
            watermark = try meta.watermark(txn)
            if watermark < 0 { report.add(.metaInvalid, Schema.meta, MetaKey.watermark, "negative watermark \(watermark)") }
        } catch {
            report.add(.metaInvalid, Schema.meta, MetaKey.watermark, "\(error)")
        }
        do {
            let accepted = try meta.acceptedTip(txn)
            let executed = try meta.executedTip(txn)
            let highest = try txn.withCursor(on: tables.blocks) { cursor in
                try cursor.last().map { Keys.uint64($0.key, at: 0) }
            }
            if let accepted, highest != accepted.height {
                report.add(
                    .metaInvalid, Schema.meta, MetaKey.acceptedTip,
                    "accepted tip \(accepted.height) but the highest stored block is \(highest.map(String.init) ?? "none")")
            }
            if accepted == nil, highest != nil {
                report.add(.metaInvalid, Schema.meta, MetaKey.acceptedTip, "blocks are stored but there is no accepted tip")
            }
            if let executed, executed > accepted?.height ?? 0 {
                report.add(
                    .metaInvalid, Schema.meta, MetaKey.executedTip,
                    "executed tip \(executed) is past the accepted tip \(accepted?.height ?? 0)")
            }
        } catch {
            report.add(.metaInvalid, Schema.meta, MetaKey.acceptedTip, "\(error)")
        }
        return watermark
    }

    // MARK: chunks and their indexes

    private func checkChunks(
        liveSlot: UInt64, _ report: inout CheckReport, _ txn: borrowing some LMDB.Transaction & ~Copyable
    ) throws -> ImpliedLedger {
        var implied: ImpliedLedger = [:]
        try visit(tables.chunks, &report, txn) { entry, report in
            guard entry.key.count == Keys.chunkKeySize, let id = try? ChunkID(bytes: entry.key[8...]) else {
                report.add(.malformedKey, Schema.chunks, entry.key, "a chunk key has \(entry.key.count) bytes, not 40")
                return
            }
            let parsed: (record: ChunkRecord, body: UnsafeRawBufferPointer)
            do {
                parsed = try ChunkRecord.parse(entry.value)
            } catch {
                report.add(.chunkRecordCorrupt, Schema.chunks, entry.key, "\(error)")
                return
            }
            let record = parsed.record
            if ChunkID(hashing: parsed.body) != id {
                report.add(.chunkHashMismatch, Schema.chunks, entry.key, "the chunk's bytes hash to another id")
                return
            }
            if let detail = Self.disagreement(record, body: parsed.body, limits: limits) {
                report.add(.chunkRecordCorrupt, Schema.chunks, entry.key, detail)
            } else if Keys.uint64(entry.key, at: 0) != Keys.expiryBits(record.expiry) {
                report.add(.chunkRecordCorrupt, Schema.chunks, entry.key, "the key's expiry is not the record's \(record.expiry)")
            }
            let bySlot = Keys.slotProducer(record.slot, record.producer, id)
            let indexedExpiry = try txn.withValue(forKey: bySlot, in: tables.bySlotProducer) { value in
                value.count == 8 ? Int64(bitPattern: Keys.uint64(value, at: 0)) : nil
            }
            if indexedExpiry == nil {
                report.add(.missingIndexRow, Schema.bySlotProducer, bySlot, "chunk \(id) has no producer/slot row")
            } else if indexedExpiry! != record.expiry {
                report.add(.danglingIndexRow, Schema.bySlotProducer, bySlot, "the row's expiry is not chunk \(id)'s")
            }
            let byExpiry = Keys.expiry(record.status, record.expiry, id)
            if try !txn.contains(byExpiry, in: tables.byExpiry) {
                report.add(.missingIndexRow, Schema.byExpiry, byExpiry, "chunk \(id) (\(record.status)) has no expiry row")
            }
            if record.origin.countsTowardsLedger && record.slot >= liveSlot {
                let key = LedgerKey(producer: record.producer, window: rules.window(ofSlot: record.slot))
                implied[key] = (try? (implied[key] ?? .zero).adding(record.units)) ?? implied[key]
                let signedKey = Keys.perProducer(record.producer, record.slot)
                let signed = try txn.withValue(forKey: signedKey, in: tables.signed) { try? SignedRecord($0) }
                if signed == nil {
                    report.add(
                        .signedRowMismatch, Schema.signed, signedKey,
                        "chunk \(id) is held as \(record.origin) but has no signed row")
                } else if let row = signed ?? nil, row.chunkID != id {
                    report.add(
                        .signedRowMismatch, Schema.signed, signedKey,
                        "the slot is signed for chunk \(row.chunkID), but chunk \(id) is held as \(record.origin) too")
                }
            }
            return
        }
        return implied
    }

    /// Why a record's header disagrees with its chunk, or nil. The header's
    /// expiry is checked against the record's key instead: after a node opts
    /// into new timing rules, stored expiries keep the old ones.
    static func disagreement(
        _ record: ChunkRecord, body: UnsafeRawBufferPointer, limits: DecodingLimits
    ) -> String? {
        let chunk: Chunk
        do {
            chunk = try Chunk(decoding: Array(body), limits: limits)
        } catch {
            return "the chunk does not decode: \(error)"
        }
        if chunk.producer != record.producer || chunk.slot != record.slot {
            return "the header says producer \(record.producer) slot \(record.slot), the chunk \(chunk.producer) slot \(chunk.slot)"
        }
        return nil
    }

    private func checkSlotProducerIndex(_ report: inout CheckReport, _ txn: borrowing some LMDB.Transaction & ~Copyable) throws {
        try visit(tables.bySlotProducer, &report, txn) { entry, report in
            guard entry.key.count == 60, let id = try? ChunkID(bytes: entry.key[28..<60]) else {
                report.add(.malformedKey, Schema.bySlotProducer, entry.key, "key of \(entry.key.count) bytes, not 60")
                return
            }
            guard entry.value.count == 8 else {
                report.add(.danglingIndexRow, Schema.bySlotProducer, entry.key, "value of \(entry.value.count) bytes, not 8")
                return
            }
            guard let record = try record(id, expiry: Int64(bitPattern: Keys.uint64(entry.value, at: 0)), txn) else {
                report.add(.danglingIndexRow, Schema.bySlotProducer, entry.key, "chunk \(id) is not held")
                return
            }
            if Keys.uint64(entry.key, at: 0) != record.slot || !entry.key[8..<28].elementsEqual(record.producer.bytes) {
                report.add(.danglingIndexRow, Schema.bySlotProducer, entry.key, "the row disagrees with chunk \(id)")
            }
            return
        }
    }

    private func checkExpiryIndex(_ report: inout CheckReport, _ txn: borrowing some LMDB.Transaction & ~Copyable) throws {
        try visit(tables.byExpiry, &report, txn) { entry, report in
            guard entry.key.count == 41, ChunkStatus(rawValue: entry.key[0]) != nil,
                let id = try? ChunkID(bytes: entry.key[9..<41])
            else {
                report.add(.malformedKey, Schema.byExpiry, entry.key, "key of \(entry.key.count) bytes or unknown status")
                return
            }
            guard let record = try record(id, expiry: Int64(bitPattern: Keys.uint64(entry.key, at: 1)), txn) else {
                report.add(.danglingIndexRow, Schema.byExpiry, entry.key, "chunk \(id) is not held")
                return
            }
            if entry.key[0] != record.status.rawValue || Keys.uint64(entry.key, at: 1) != Keys.expiryBits(record.expiry) {
                report.add(.danglingIndexRow, Schema.byExpiry, entry.key, "the row disagrees with chunk \(id)'s status or expiry")
            }
            return
        }
    }

    private func record(_ id: ChunkID, expiry: Int64, _ txn: borrowing some LMDB.Transaction & ~Copyable) throws
        -> ChunkRecord?
    {
        try txn.withValue(forKey: Keys.chunk(expiry, id), in: tables.chunks) { try? ChunkRecord.parse($0).record } ?? nil
    }

    // MARK: ledger and signing history

    private func checkLedger(
        _ implied: ImpliedLedger, liveSlot: UInt64, _ report: inout CheckReport,
        _ txn: borrowing some LMDB.Transaction & ~Copyable
    ) throws {
        let liveWindow = rules.window(ofSlot: liveSlot)
        let unseenUsage = try windowsWithUnheldChunks(txn)
        var seen = Set<LedgerKey>()
        try visit(tables.ledger, &report, txn) { entry, report in
            guard let (producer, window) = Keys.parsePerProducer(entry.key) else {
                report.add(.malformedKey, Schema.ledger, entry.key, "key of \(entry.key.count) bytes, not 28")
                return
            }
            let key = LedgerKey(producer: producer, window: window)
            seen.insert(key)
            guard let stored = try? Dimensions(fixedBytes: entry.value) else {
                report.add(.ledgerMismatch, Schema.ledger, entry.key, "the usage does not decode (\(entry.value.count) bytes)")
                return
            }
            let expected = implied[key] ?? .zero
            // Windows whose first slots were collected keep usage their stored
            // chunks no longer show; there the ledger may only be larger.
            let whole = !unseenUsage.contains(key) && Self.isWhole(window: key.window, liveSlot: liveSlot, rules: rules)
            if whole ? stored != expected : !expected.fits(within: stored) {
                report.add(
                    .ledgerMismatch, Schema.ledger, entry.key,
                    "producer \(producer) window \(key.window) records \(stored); the stored chunks imply \(expected)")
            }
            return
        }
        for (key, units) in implied where !seen.contains(key) && key.window >= liveWindow {
            report.add(
                .ledgerMismatch, Schema.ledger, Keys.perProducer(key.producer, key.window),
                "producer \(key.producer) window \(key.window) has no ledger row; the stored chunks imply \(units)")
        }
    }

    /// Windows with a signed chunk that is not held (imported history, or
    /// lost and recovered): their ledgers carry usage no stored chunk shows.
    func windowsWithUnheldChunks(_ txn: borrowing some LMDB.Transaction & ~Copyable) throws -> Set<LedgerKey> {
        var windows = Set<LedgerKey>()
        try txn.scan(tables.signed) { entry in
            if let (producer, slot) = Keys.parsePerProducer(entry.key), let signed = try? SignedRecord(entry.value),
                signed.notHeld
            {
                windows.insert(LedgerKey(producer: producer, window: rules.window(ofSlot: slot)))
            }
            return .next
        }
        return windows
    }

    /// Whether no slot of `window` has been collected: then the held chunks
    /// account for all of its usage.
    static func isWhole(window: UInt64, liveSlot: UInt64, rules: Rules) -> Bool {
        let (first, overflow) = window.multipliedReportingOverflow(by: rules.rateLimitWindow)
        return overflow || first >= liveSlot
    }

    private func checkSigned(liveSlot: UInt64, _ report: inout CheckReport, _ txn: borrowing some LMDB.Transaction & ~Copyable) throws {
        try visit(tables.signed, &report, txn) { entry, report in
            guard let (producer, slot) = Keys.parsePerProducer(entry.key) else {
                report.add(.malformedKey, Schema.signed, entry.key, "key of \(entry.key.count) bytes, not 28")
                return
            }
            let signed: SignedRecord
            do {
                signed = try SignedRecord(entry.value)
            } catch {
                report.add(.signedRowMismatch, Schema.signed, entry.key, "\(error)")
                return
            }
            if signed.notHeld { return }
            guard let record = try record(signed.chunkID, expiry: signed.expiry, txn) else {
                report.add(.signedRowMismatch, Schema.signed, entry.key, "signed chunk \(signed.chunkID) is not held")
                return
            }
            if producer != record.producer || slot != record.slot {
                report.add(.signedRowMismatch, Schema.signed, entry.key, "signed chunk \(signed.chunkID) has another producer or slot")
            }
            return
        }
    }

    // MARK: certificates, evidence, blocks

    private func checkCertificates(_ report: inout CheckReport, _ txn: borrowing some LMDB.Transaction & ~Copyable) throws {
        try visit(tables.certificates, &report, txn) { entry, report in
            guard entry.key.count == 40, let id = try? ChunkID(bytes: entry.key[8..<40]) else {
                report.add(.malformedKey, Schema.certificates, entry.key, "key of \(entry.key.count) bytes, not 40")
                return
            }
            let certificate: ChunkCertificate
            do {
                certificate = try ChunkStore.decodeCertificate(entry.value, limits: limits)
            } catch {
                report.add(.certificateCorrupt, Schema.certificates, entry.key, "\(error)")
                return
            }
            let reference = certificate.reference
            if reference.chunkID != id || Keys.expiryBits(reference.expiry) != Keys.uint64(entry.key, at: 0) {
                report.add(.certificateCorrupt, Schema.certificates, entry.key, "the certificate names chunk \(reference.chunkID) expiring \(reference.expiry)")
            } else if let record = try record(id, expiry: reference.expiry, txn),
                record.producer != reference.producer || record.slot != reference.slot || record.expiry != reference.expiry
            {
                report.add(.certificateCorrupt, Schema.certificates, entry.key, "the certificate disagrees with the held chunk \(id)")
            }
            return
        }
    }

    private func checkEvidence(_ report: inout CheckReport, _ txn: borrowing some LMDB.Transaction & ~Copyable) throws {
        try visit(tables.evidence, &report, txn) { entry, report in
            guard let (producer, slot) = Keys.parsePerProducer(entry.key) else {
                report.add(.malformedKey, Schema.evidence, entry.key, "key of \(entry.key.count) bytes, not 28")
                return
            }
            do {
                _ = try ConflictEvidence(producer: producer, slot: slot, decoding: entry.value, limits: limits)
            } catch {
                report.add(.evidenceCorrupt, Schema.evidence, entry.key, "\(error)")
            }
            return
        }
    }

    private func checkBlocks(_ report: inout CheckReport, _ txn: borrowing some LMDB.Transaction & ~Copyable) throws {
        try visit(tables.blocks, &report, txn) { entry, report in
            guard entry.key.count == 8 else {
                report.add(.malformedKey, Schema.blocks, entry.key, "key of \(entry.key.count) bytes, not 8")
                return
            }
            do {
                let block = try Block(decoding: Array(entry.value), limits: limits)
                if block.height != Keys.uint64(entry.key, at: 0) {
                    report.add(.blockCorrupt, Schema.blocks, entry.key, "the block says height \(block.height)")
                }
            } catch {
                report.add(.blockCorrupt, Schema.blocks, entry.key, "\(error)")
            }
            return
        }
    }
}

extension ChunkStore {
    /// Reads every row and reports every inconsistency: chunks that do not
    /// hash to their id, index rows without records and records without index
    /// rows, ledgers that differ from what the stored chunks imply, `signed`
    /// rows whose chunk is missing, certificates that do not parse or name
    /// another chunk, evidence and blocks that do not decode, and `meta` out
    /// of range. Runs in one snapshot, so it is safe on a live store.
    /// `progress`, if given, hears how far each table's check has come.
    public func check(progress: ProgressHandler? = nil) throws -> CheckReport {
        var checker = StoreChecker(
            tables: tables, rules: configuration.rules, limits: DecodingLimits(rules: configuration.rules))
        checker.progress = ProgressCounter(progress)
        return try snapshot { txn in try checker.check(txn) }
    }
}
