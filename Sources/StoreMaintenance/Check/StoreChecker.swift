import ChunkStore
import DSMR
import LMDB

/// Reads every row of a store and reports each inconsistency.
struct StoreChecker {
    let rules: Rules
    let limits: DecodingLimits
    /// The store's network and chain: evidence signatures are checked in it.
    let domain: SigningDomain
    var progress = ProgressCounter(nil)

    /// Units implied by stored chunks, per (producer, window).
    typealias ImpliedLedger = [LedgerKey: Dimensions]

    struct LedgerKey: Hashable {
        let producer: NodeID
        let window: UInt64
    }

    func check(_ r: borrowing some StoreTransaction & ~Copyable) throws -> CheckReport {
        var report = CheckReport()
        let watermark = try checkMeta(&report, r)
        let liveSlot = Self.firstUncollectedSlot(watermark: watermark, rules: rules, r)
        let implied = try checkChunks(watermark: watermark, liveSlot: liveSlot, &report, r)
        try checkSlotProducerIndex(&report, r)
        try checkExpiryIndex(&report, r)
        try checkLedger(implied, liveSlot: liveSlot, &report, r)
        try checkSigned(liveSlot: liveSlot, &report, r)
        try checkCertificates(watermark: watermark, &report, r)
        try checkEvidence(&report, r)
        try checkBlocks(watermark: watermark, &report, r)
        return report
    }

    /// Reads every row of `table` with `body`, counting rows and reporting
    /// progress.
    func visit<Key, Value>(
        _ table: Table<Key, Value>, _ report: inout CheckReport, _ r: borrowing some StoreTransaction & ~Copyable,
        _ body: (TableEntry<Key, Value>, inout CheckReport) throws -> Void
    ) throws {
        progress.begin("checking " + table.name, total: try r.count(table))
        defer { progress.end() }
        try r.scan(table) { entry in
            report.count(table.name)
            progress.tick()
            try body(entry, &report)
            return .next
        }
    }

    /// The decoded key of `entry`, or nil after reporting it as malformed.
    func key<Key, Value>(_ entry: TableEntry<Key, Value>, _ report: inout CheckReport) -> Key? {
        do {
            return try entry.key()
        } catch {
            report.add(.malformedKey, entry.table.name, entry.raw.key, "\(error)")
            return nil
        }
    }

    // MARK: chunks and their indexes

    private func checkChunks(
        watermark: Int64, liveSlot: UInt64, _ report: inout CheckReport,
        _ r: borrowing some StoreTransaction & ~Copyable
    ) throws -> ImpliedLedger {
        var implied: ImpliedLedger = [:]
        try visit(r.tables.chunks, &report, r) { entry, report in
            guard let key = key(entry, &report) else { return }
            let id = key.id
            let parsed: (record: ChunkRecord, body: UnsafeRawBufferPointer)
            do {
                parsed = try ChunkRecord.parse(entry.raw.value)
            } catch {
                report.add(.chunkRecordCorrupt, Schema.chunks, entry.raw.key, "\(error)")
                return
            }
            let record = parsed.record
            if ChunkID(hashing: parsed.body) != id {
                report.add(.chunkHashMismatch, Schema.chunks, entry.raw.key, "the chunk's bytes hash to another id")
                return
            }
            if let detail = Self.disagreement(record, body: parsed.body, limits: limits) {
                report.add(.chunkRecordCorrupt, Schema.chunks, entry.raw.key, detail)
            } else if expiryBits(key.expiry) != expiryBits(record.expiry) {
                report.add(
                    .chunkRecordCorrupt, Schema.chunks, entry.raw.key,
                    "the key's expiry is not the record's \(record.expiry)")
            }
            if record.status == .pending && record.expiry <= watermark {
                report.add(
                    .expiredRowKept, Schema.chunks, entry.raw.key,
                    "pending chunk \(id) expired at \(record.expiry), at or below the watermark \(watermark)")
            }
            let bySlot = SlotProducerKey(slot: record.slot, producer: record.producer, id: id)
            let indexed = try r.withRawValue(r.tables.bySlotProducer, bySlot) { try? IndexedExpiry(decoding: $0) }
            if indexed == nil {
                report.add(
                    .missingIndexRow, Schema.bySlotProducer, bySlot.encoded, "chunk \(id) has no producer/slot row")
            } else if indexed??.expiry != record.expiry {
                report.add(
                    .danglingIndexRow, Schema.bySlotProducer, bySlot.encoded, "the row's expiry is not chunk \(id)'s")
            }
            let byExpiry = ExpiryIndexKey(status: record.status, expiry: record.expiry, id: id)
            if try !r.contains(r.tables.byExpiry, byExpiry) {
                report.add(
                    .missingIndexRow, Schema.byExpiry, byExpiry.encoded,
                    "chunk \(id) (\(record.status)) has no expiry row")
            }
            if record.origin.countsTowardsLedger && record.slot >= liveSlot {
                let ledgerKey = LedgerKey(producer: record.producer, window: rules.window(ofSlot: record.slot))
                implied[ledgerKey] = (try? (implied[ledgerKey] ?? .zero).adding(record.units)) ?? implied[ledgerKey]
                let signedKey = ProducerKey(record.producer, record.slot)
                let signed = try r.withRawValue(r.tables.signed, signedKey) { try? SignedRecord(decoding: $0) }
                if signed == nil {
                    report.add(
                        .signedRowMismatch, Schema.signed, signedKey.encoded,
                        "chunk \(id) is held as \(record.origin) but has no signed row")
                } else if let row = signed ?? nil, row.chunkID != id {
                    report.add(
                        .signedRowMismatch, Schema.signed, signedKey.encoded,
                        "the slot is signed for chunk \(row.chunkID), but chunk \(id) is held as \(record.origin) too")
                }
            }
        }
        return implied
    }

    /// The first slot from which nothing can have been collected: above both
    /// the slots the current rules expire at `watermark` and the signing
    /// floor (after a change of timing rules the floor can be the higher).
    static func firstUncollectedSlot(
        watermark: Int64, rules: Rules, _ r: borrowing some StoreTransaction & ~Copyable
    ) -> UInt64 {
        let live = GarbageCollector.firstLiveSlot(watermark: watermark, rules: rules) ?? .max
        return max(live, (try? r.signingFloor()) ?? 0)
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
            return
                "the header says producer \(record.producer) slot \(record.slot), the chunk \(chunk.producer) slot \(chunk.slot)"
        }
        return nil
    }

    private func checkSlotProducerIndex(
        _ report: inout CheckReport, _ r: borrowing some StoreTransaction & ~Copyable
    ) throws {
        try visit(r.tables.bySlotProducer, &report, r) { entry, report in
            guard let key = key(entry, &report) else { return }
            let indexed: IndexedExpiry
            do {
                indexed = try entry.value()
            } catch {
                report.add(.danglingIndexRow, Schema.bySlotProducer, entry.raw.key, "\(error)")
                return
            }
            guard let record = try record(ChunkKey(expiry: indexed.expiry, id: key.id), r) else {
                report.add(.danglingIndexRow, Schema.bySlotProducer, entry.raw.key, "chunk \(key.id) is not held")
                return
            }
            if key.slot != record.slot || key.producer != record.producer {
                report.add(
                    .danglingIndexRow, Schema.bySlotProducer, entry.raw.key, "the row disagrees with chunk \(key.id)")
            }
        }
    }

    private func checkExpiryIndex(_ report: inout CheckReport, _ r: borrowing some StoreTransaction & ~Copyable) throws
    {
        try visit(r.tables.byExpiry, &report, r) { entry, report in
            guard let key = key(entry, &report) else { return }
            guard let record = try record(key.chunkKey, r) else {
                report.add(.danglingIndexRow, Schema.byExpiry, entry.raw.key, "chunk \(key.id) is not held")
                return
            }
            if key.status != record.status || expiryBits(key.expiry) != expiryBits(record.expiry) {
                report.add(
                    .danglingIndexRow, Schema.byExpiry, entry.raw.key,
                    "the row disagrees with chunk \(key.id)'s status or expiry")
            }
        }
    }

    /// The header of a held record, or nil when it is missing or damaged
    /// (damage is reported by the scan of `chunks`).
    func record(_ key: ChunkKey, _ r: borrowing some StoreTransaction & ~Copyable) throws -> ChunkRecord? {
        try r.withRawValue(r.tables.chunks, key) { try? ChunkRecord.parse($0).record } ?? nil
    }

    // MARK: ledger and signing history

    private func checkLedger(
        _ implied: ImpliedLedger, liveSlot: UInt64, _ report: inout CheckReport,
        _ r: borrowing some StoreTransaction & ~Copyable
    ) throws {
        let liveWindow = rules.window(ofSlot: liveSlot)
        let unseenUsage = try windowsWithUnheldChunks(r)
        var seen = Set<LedgerKey>()
        try visit(r.tables.ledger, &report, r) { entry, report in
            guard let rowKey = key(entry, &report) else { return }
            let key = LedgerKey(producer: rowKey.producer, window: rowKey.number)
            seen.insert(key)
            guard let stored = try? entry.value() else {
                report.add(
                    .ledgerMismatch, Schema.ledger, entry.raw.key,
                    "the usage does not decode (\(entry.raw.value.count) bytes)")
                return
            }
            let expected = implied[key] ?? .zero
            // Windows whose first slots were collected keep usage their stored
            // chunks no longer show; there the ledger may only be larger.
            let whole = !unseenUsage.contains(key) && Self.isWhole(window: key.window, liveSlot: liveSlot, rules: rules)
            if whole ? stored != expected : !expected.fits(within: stored) {
                report.add(
                    .ledgerMismatch, Schema.ledger, entry.raw.key,
                    "producer \(key.producer) window \(key.window) records \(stored); the stored chunks imply \(expected)"
                )
            }
        }
        for (key, units) in implied where !seen.contains(key) && key.window >= liveWindow {
            report.add(
                .ledgerMismatch, Schema.ledger, ProducerKey(key.producer, key.window).encoded,
                "producer \(key.producer) window \(key.window) has no ledger row; the stored chunks imply \(units)")
        }
    }

    /// Windows with a signed chunk that is not held (imported history, or
    /// lost and recovered): their ledgers carry usage no stored chunk shows.
    func windowsWithUnheldChunks(_ r: borrowing some StoreTransaction & ~Copyable) throws -> Set<LedgerKey> {
        var windows = Set<LedgerKey>()
        try r.scan(r.tables.signed) { entry in
            if let key = try? entry.key(), let signed = try? entry.value(), signed.notHeld {
                windows.insert(LedgerKey(producer: key.producer, window: rules.window(ofSlot: key.number)))
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

    private func checkSigned(
        liveSlot: UInt64, _ report: inout CheckReport, _ r: borrowing some StoreTransaction & ~Copyable
    ) throws {
        try visit(r.tables.signed, &report, r) { entry, report in
            guard let key = key(entry, &report) else { return }
            let signed: SignedRecord
            do {
                signed = try entry.value()
            } catch {
                report.add(.signedRowMismatch, Schema.signed, entry.raw.key, "\(error)")
                return
            }
            if signed.notHeld { return }
            guard let record = try record(signed.chunkKey, r) else {
                // Below the first uncollected slot the chunk may have been
                // collected while its row stays (after a longer lifetime).
                if key.number >= liveSlot {
                    report.add(
                        .signedRowMismatch, Schema.signed, entry.raw.key, "signed chunk \(signed.chunkID) is not held")
                }
                return
            }
            if key.producer != record.producer || key.number != record.slot {
                report.add(
                    .signedRowMismatch, Schema.signed, entry.raw.key,
                    "signed chunk \(signed.chunkID) has another producer or slot")
            }
        }
    }
}
