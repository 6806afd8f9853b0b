import ChunkStore
import DSMR

extension StoreChecker {
    /// Checks `meta`: every row a store always holds is present and decodes
    /// (schema version, network, chain, node, rules, retention, watermark),
    /// the tips decode when present, no other row is there, and the
    /// watermark is not negative. Returns the watermark (0 when unreadable).
    ///
    /// The watermark is compared with the rows in the other tables' checks:
    /// it is never below the accepted tip's timestamp (`blocks`), and no
    /// pending chunk or pending certificate that collection at the watermark
    /// removes is still held (`chunks`, `certificates`): every move of the
    /// watermark collects in the same transaction. Nothing bounds it from
    /// above otherwise, as `collectGarbage(upTo:)` may move it past the tip.
    func checkMeta(_ report: inout CheckReport, _ r: borrowing some StoreTransaction & ~Copyable) throws -> Int64 {
        var known = Set(MetaKey.all.map(\.bytes))
        known.insert(MetaKey.loadIncomplete.key.bytes)
        try visit(r.tables.meta, &report, r) { entry, report in
            let name = Array(entry.raw.key)
            if name == MetaKey.loadIncomplete.key.bytes {
                report.add(.metaInvalid, Schema.meta, name, "a load from a dump or a salvage did not finish")
            } else if !known.contains(name) {
                report.add(.metaInvalid, Schema.meta, name, "unknown meta row")
            }
        }
        do {
            guard let version = try r.meta(MetaKey.version)?.value else {
                throw ChunkStoreError(.corruptRecord, "missing")
            }
            if !Schema.readable.contains(version) {
                report.add(.metaInvalid, Schema.meta, MetaKey.version.key.bytes, "schema version \(version) is unknown")
            }
        } catch {
            report.add(.metaInvalid, Schema.meta, MetaKey.version.key.bytes, "schema version: \(error)")
        }
        requireMeta(MetaKey.network, &report, r) { _ in }
        requireMeta(MetaKey.chain, &report, r) { _ = try ChainID(bytes: $0.bytes) }
        requireMeta(MetaKey.node, &report, r) { _ = try NodeID(bytes: $0.bytes) }
        requireMeta(MetaKey.rules, &report, r) { _ in }
        requireMeta(MetaKey.retention, &report, r) { retention in
            guard retention.accepted >= 0, retention.evidence >= 0 else {
                throw ChunkStoreError(.corruptRecord, "negative retention \(retention.accepted), \(retention.evidence)")
            }
        }
        var watermark: Int64 = 0
        requireMeta(MetaKey.watermark, &report, r) { row in
            guard row.value >= 0 else { throw ChunkStoreError(.corruptRecord, "negative watermark \(row.value)") }
            watermark = row.value
        }
        do {
            _ = try r.signingFloor()
        } catch {
            report.add(.metaInvalid, Schema.meta, MetaKey.signingFloor.key.bytes, "\(error)")
        }
        do {
            _ = try r.acceptedTip()
        } catch {
            report.add(.metaInvalid, Schema.meta, MetaKey.acceptedTip.key.bytes, "\(error)")
        }
        do {
            _ = try r.executedTip()
        } catch {
            report.add(.metaInvalid, Schema.meta, MetaKey.executedTip.key.bytes, "\(error)")
        }
        return watermark
    }

    /// Reports the row `field` as missing or malformed, or hands its value
    /// to `validate` (which throws to report it as out of range).
    private func requireMeta<Value>(
        _ field: MetaField<Value>, _ report: inout CheckReport, _ r: borrowing some StoreTransaction & ~Copyable,
        _ validate: (Value) throws -> Void
    ) {
        do {
            guard let value = try r.meta(field) else {
                report.add(.metaInvalid, Schema.meta, field.key.bytes, "meta \(field.key.name) is missing")
                return
            }
            try validate(value)
        } catch {
            report.add(.metaInvalid, Schema.meta, field.key.bytes, "meta \(field.key.name): \(error)")
        }
    }
}
