import ChunkStore
import DSMR
import LMDB

/// Copies what a damaged store still holds into a new store: table by
/// table, row by row, every row that decodes and passes its table's checks;
/// then rebuilds the derived rows there and checks the result.
///
/// Kept: chunk records that hash to their id and agree with their header;
/// certificates that decode under their own (expiry, id); every `signed` and
/// `ledger` row that decodes (so slots stay protected and usage is never
/// lowered); evidence that proves its conflict; blocks that decode at their
/// height; the watermark, signing floor and tips. Rebuilt: both chunk indexes, `signed`
/// rows of held chunks, ledgers raised to what the held chunks imply.
struct StoreSalvage {
    /// The source, opened in this process only for `.inProcess` reads.
    let source: Environment?
    let path: String
    let isolation: SalvageIsolation
    let rules: Rules
    let limits: DecodingLimits
    let domain: SigningDomain
    /// Hears, per table, how many rows have been read of those LMDB says it
    /// holds.
    var progress: ProgressHandler?

    /// What the salvaged rows say about time and the chain, gathered while
    /// copying.
    private struct Findings {
        var watermark: Int64?
        var signingFloor: UInt64?
        var acceptedTip: BlockTip?
        var executedTip: UInt64?
        var firstSignedSlot: UInt64?
        var lastBlock: Block?
    }

    /// Salvages into `store`; `meta` holds the source's `meta` rows and
    /// unreadable ranges, read before `store` was made from its identity.
    func run(into store: ChunkStore, meta: Read) async throws -> SalvageReport {
        var report = SalvageReport()
        var findings = Findings()
        // Until salvage finishes, opening the new store is refused.
        try await store.submit { w in try w.setMeta(MetaKey.loadIncomplete, BytesRow([1])) }
        for name in [Schema.bySlotProducer, Schema.byExpiry] {
            report.tables[name] = SalvageReport.Table(rebuilt: true)
        }
        // The new store wrote its identity rows; only time and tips are copied.
        try await copy(Schema.meta, &report, store, read: meta, writing: { !MetaKey.identity.contains($0.key) }) {
            row in keepMeta(row, &findings)
        }
        try await copy(Schema.chunks, &report, store) { row in keepChunk(row) }
        try await copy(Schema.certificates, &report, store) { row in keepCertificate(row) }
        try await copy(Schema.signed, &report, store) { row in
            guard let key = row.decode(ProducerKey.self), row.decodeValue(SignedRecord.self) != nil else {
                return false
            }
            findings.firstSignedSlot = min(findings.firstSignedSlot ?? .max, key.number)
            return true
        }
        try await copy(Schema.ledger, &report, store) { row in
            row.decode(ProducerKey.self) != nil && row.decodeValue(Dimensions.self) != nil
        }
        try await copy(Schema.evidence, &report, store) { row in keepEvidence(row) }
        try await copy(Schema.blocks, &report, store) { row in keepBlock(row, &findings) }

        report.watermark = watermark(findings)
        report.signingFloor = signingFloor(findings, &report)
        let watermark = report.watermark
        let floor = report.signingFloor
        let tip = findings.acceptedTip ?? findings.lastBlock.map { BlockTip(height: $0.height, id: $0.id) }
        let executed = findings.executedTip.flatMap { height in tip.flatMap { height <= $0.height ? height : nil } }
        let collector = store.garbageCollector
        let recovery = StoreRecovery(
            rules: rules, limits: limits, node: store.configuration.nodeID, measure: store.configuration.measure,
            domain: domain, neverLowerLedgers: true)
        report.recovery = try await store.submit { w in
            try w.setWatermark(watermark)
            try w.raiseSigningFloor(to: floor)
            if let tip { try w.setAcceptedTip(tip) }
            if let executed { try w.setExecutedTip(executed) }
            // Rebuild the indexes first: collection walks `by_expiry`.
            let rebuilt = try recovery.recover(w)
            _ = try collector.collect(from: 0, upTo: watermark, w)
            // Rows copied as read get the checksums older versions did not write.
            _ = try ChecksumUpgrade.rewrite(w, limits: limits)
            try w.delete(w.tables.meta, MetaKey.loadIncomplete.key)
            return rebuilt
        }
        report.check = try store.check()
        return report
    }

    /// Rows read from one table, and the ranges that could not be read.
    typealias Read = (rows: [DamagedTableReader.CopiedRow], gaps: [DamagedTableReader.Gap])

    /// Reads the table `name` of the source, all of its rows in memory (for
    /// `meta`, which is small and read before anything else).
    static func readAll(
        _ name: String, path: String, isolation: SalvageIsolation, source: Environment?
    ) async throws -> Read {
        var rows: [DamagedTableReader.CopiedRow] = []
        let reader = DamagedTableReader(path: path, table: name, isolation: isolation, environment: source)
        let gaps = try await reader.read { rows += $0 }
        return (rows, gaps)
    }

    /// Reads the table `name` around its damage (or takes what `read`
    /// already holds) and writes the rows `keep` accepts, and `write` wants
    /// written, into the same table of `store`.
    private func copy(
        _ name: String, _ report: inout SalvageReport, _ store: ChunkStore, read: Read? = nil,
        writing write: (DamagedTableReader.CopiedRow) -> Bool = { _ in true },
        _ keep: (DamagedTableReader.CopiedRow) -> Bool
    ) async throws {
        var tally = SalvageReport.Table()
        let destination = try store.environment.database(name)
        func take(_ rows: [DamagedTableReader.CopiedRow]) async throws {
            tally.rowsRead += rows.count
            let kept = rows.filter(keep)
            tally.rowsKept += kept.count
            tally.rowsDropped += rows.count - kept.count
            progress?(StoreProgress(stage: stage, done: tally.rowsRead, total: stored ?? 0))
            let written = kept.filter(write)
            guard !written.isEmpty else { return }
            try await store.submit { w in
                for row in written { try w.putRaw(destination, key: row.key, value: row.value) }
            }
        }
        let gaps: [DamagedTableReader.Gap]
        let reader = DamagedTableReader(path: path, table: name, isolation: isolation, environment: source)
        let stored = await reader.storedRows()
        tally.rowsStored = stored
        let stage = "salvaging " + name
        progress?(StoreProgress(stage: stage, done: 0, total: stored ?? 0))
        if let read {
            try await take(read.rows)
            gaps = read.gaps
        } else {
            gaps = try await reader.read(take)
        }
        if !gaps.isEmpty, let stored { tally.rowsLost = max(0, stored - tally.rowsRead) }
        tally.lost = gaps.map { gap in
            SalvageReport.LostRange(
                after: gap.after.map { Hex.encode($0) }, before: gap.before.map { Hex.encode($0) }, reason: gap.reason)
        }
        report.tables[name] = tally
    }

    // MARK: what each table keeps

    /// Keeps the watermark, signing floor and tips when they decode, and the identity rows
    /// (which the new store wrote already, from the identity the source's
    /// open read). Unknown rows are dropped.
    private func keepMeta(_ row: DamagedTableReader.CopiedRow, _ findings: inout Findings) -> Bool {
        row.value.withUnsafeBytes { value in
            switch row.key {
            case MetaKey.watermark.key.bytes:
                guard let watermark = try? Int64Row(decoding: value).value, watermark >= 0 else { return false }
                findings.watermark = watermark
            case MetaKey.acceptedTip.key.bytes:
                guard let tip = try? BlockTip(decoding: value) else { return false }
                findings.acceptedTip = tip
            case MetaKey.executedTip.key.bytes:
                guard let height = try? UInt64Row(decoding: value).value else { return false }
                findings.executedTip = height
            case MetaKey.signingFloor.key.bytes:
                guard let floor = try? UInt64Row(decoding: value).value else { return false }
                findings.signingFloor = floor
            default:
                return MetaKey.all.contains { $0.bytes == row.key }
            }
            return true
        }
    }

    private func keepChunk(_ row: DamagedTableReader.CopiedRow) -> Bool {
        row.key.withUnsafeBytes { key in
            row.value.withUnsafeBytes { value in
                guard let key = try? ChunkKey(decoding: key), let (record, body) = try? ChunkRecord.parse(value) else {
                    return false
                }
                return ChunkID(hashing: body) == key.id && expiryBits(key.expiry) == expiryBits(record.expiry)
                    && StoreChecker.disagreement(record, body: body, limits: limits) == nil
            }
        }
    }

    private func keepCertificate(_ row: DamagedTableReader.CopiedRow) -> Bool {
        row.key.withUnsafeBytes { key in
            row.value.withUnsafeBytes { value in
                guard let key = try? ChunkKey(decoding: key),
                    let certificate = try? CertificateRow(decoding: value).decode(limits: limits)
                else { return false }
                return certificate.reference.chunkID == key.id
                    && expiryBits(certificate.reference.expiry) == expiryBits(key.expiry)
            }
        }
    }

    private func keepEvidence(_ row: DamagedTableReader.CopiedRow) -> Bool {
        row.key.withUnsafeBytes { key in
            row.value.withUnsafeBytes { value in
                guard let key = try? ProducerKey(decoding: key), let stored = try? EvidenceRow(decoding: value),
                    let evidence = try? ConflictEvidence(key: key, row: stored, limits: limits)
                else { return false }
                return StoreChecker(rules: rules, limits: limits, domain: domain).evidenceFlaw(evidence) == nil
            }
        }
    }

    private func keepBlock(_ row: DamagedTableReader.CopiedRow, _ findings: inout Findings) -> Bool {
        guard let height = row.key.withUnsafeBytes({ try? HeightKey(decoding: $0).height }),
            let block = try? BlockRow(row.value, height: height, limits: limits).block, block.height == height
        else { return false }
        if block.height >= findings.lastBlock?.height ?? 0 { findings.lastBlock = block }
        return true
    }

    // MARK: the watermark and the signing floor

    /// The new store's watermark: the source's when it survived, else the
    /// highest one the surviving rows allow (every `signed` row left after
    /// collection expires after the watermark); never below the last
    /// block's timestamp. Lost `signed` rows do not move it: chain time is
    /// what it was, and the signing floor closes their slots.
    private func watermark(_ findings: Findings) -> Int64 {
        let watermark =
            findings.watermark ?? findings.firstSignedSlot.map { rules.expiry(ofSlot: $0) - 1 } ?? 0
        return max(watermark, findings.lastBlock?.timestamp ?? 0)
    }

    /// The new store's signing floor: the source's, raised past every slot
    /// whose `signed` rows may have been lost, so those slots refuse every
    /// chunk. A lost range lies between two keys (slot, producer); its rows
    /// are in the slots from the first key's to the second's, so the floor
    /// goes to one past the second key's slot. A range that runs to the
    /// table's end has no last slot: the floor goes one past the last slot
    /// read, and the slots from there on are reported as unprotected.
    private func signingFloor(_ findings: Findings, _ report: inout SalvageReport) -> UInt64 {
        var floor = findings.signingFloor ?? 0
        func slot(_ hex: String?) -> UInt64? {
            hex.flatMap { Hex.decode($0) }?.withUnsafeBytes { try? ProducerKey(decoding: $0) }?.number
        }
        for lost in report.tables[Schema.signed]?.lost ?? [] {
            if let last = slot(lost.before) {
                floor = max(floor, last &+ 1)
            } else {
                let from = slot(lost.after).map { $0 &+ 1 } ?? 0
                floor = max(floor, from)
                report.unprotectedFromSlot = min(report.unprotectedFromSlot ?? .max, from)
            }
        }
        return floor
    }
}

extension DamagedTableReader.CopiedRow {
    /// The key decoded as `type`, or nil.
    func decode<Key: Row>(_ type: Key.Type) -> Key? { key.withUnsafeBytes { try? Key(decoding: $0) } }
    /// The value decoded as `type`, or nil.
    func decodeValue<Value: Row>(_ type: Value.Type) -> Value? { value.withUnsafeBytes { try? Value(decoding: $0) } }
}
