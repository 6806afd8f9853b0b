import ChunkStore
import DSMR

extension StoreChecker {
    /// Checks `blocks` and the tips in `meta`: every row decodes at the
    /// height of its key; the heights kept are consecutive, each block's
    /// parent being the id of the block below it; the accepted tip is the
    /// last block's height and id; the executed tip is not above it; and the
    /// watermark is not below the tip block's timestamp (accepting a block
    /// moves the watermark to at least its timestamp).
    func checkBlocks(
        watermark: Int64, _ report: inout CheckReport, _ r: borrowing some StoreTransaction & ~Copyable
    ) throws {
        var previous: (height: UInt64, id: BlockID)?
        var last: (height: UInt64, block: Block?)?
        try visit(r.tables.blocks, &report, r) { entry, report in
            guard let key = key(entry, &report) else { return }
            defer { previous = last?.block.map { ($0.height, $0.id) } }
            last = (key.height, nil)
            let block: Block
            do {
                let row = try BlockRow(Array(entry.raw.value), height: key.height, limits: limits)
                if row.isUnchecked { report.countWithoutChecksum(Schema.blocks) }
                block = row.block
            } catch {
                report.add(.blockCorrupt, Schema.blocks, entry.raw.key, "\(error)")
                return
            }
            guard block.height == key.height else {
                report.add(.blockCorrupt, Schema.blocks, entry.raw.key, "the block says height \(block.height)")
                return
            }
            last = (key.height, block)
            guard let below = previous else { return }
            if below.height &+ 1 != block.height {
                report.add(
                    .blockCorrupt, Schema.blocks, entry.raw.key,
                    "heights \(below.height + 1) to \(block.height - 1) are missing below block \(block.height)")
            } else if block.parent != below.id {
                report.add(
                    .blockCorrupt, Schema.blocks, entry.raw.key,
                    "block \(block.height)'s parent \(block.parent) is not block \(below.height)'s id \(below.id)")
            }
        }
        try checkTips(last: last, watermark: watermark, &report, r)
    }

    private func checkTips(
        last: (height: UInt64, block: Block?)?, watermark: Int64, _ report: inout CheckReport,
        _ r: borrowing some StoreTransaction & ~Copyable
    ) throws {
        let tipKey = MetaKey.acceptedTip.key.bytes
        let stored: BlockTip?
        do {
            stored = try r.acceptedTip()
        } catch {
            return  // reported by the check of `meta`
        }
        guard let accepted = stored else {
            if let last {
                report.add(
                    .metaInvalid, Schema.meta, tipKey, "block \(last.height) is stored but there is no accepted tip")
            }
            return
        }
        if let executed = try? r.executedTip(), executed > accepted.height {
            report.add(
                .metaInvalid, Schema.meta, MetaKey.executedTip.key.bytes,
                "executed tip \(executed) is past the accepted tip \(accepted.height)")
        }
        guard let last else {
            report.add(.metaInvalid, Schema.meta, tipKey, "accepted tip \(accepted) but no block is stored")
            return
        }
        guard last.height == accepted.height else {
            report.add(
                .metaInvalid, Schema.meta, tipKey,
                "accepted tip \(accepted.height) but the highest stored block is \(last.height)")
            return
        }
        // A tip block that does not decode is reported by the scan.
        guard let block = last.block else { return }
        if block.id != accepted.id {
            report.add(
                .metaInvalid, Schema.meta, tipKey, "accepted tip \(accepted) but block \(block.height) is \(block.id)")
        }
        if watermark < block.timestamp {
            report.add(
                .metaInvalid, Schema.meta, MetaKey.watermark.key.bytes,
                "watermark \(watermark) is below the accepted tip's timestamp \(block.timestamp)")
        }
    }
}
