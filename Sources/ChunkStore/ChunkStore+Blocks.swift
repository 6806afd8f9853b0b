import DSMR
import LMDB

/// What recording an accepted block did.
public struct AcceptanceReport: Sendable, Hashable {
    /// The block's tip after recording.
    public let tip: BlockTip
    /// The references whose chunks are not held: the node fetches these.
    public let missingChunks: [ChunkReference]
    /// What the garbage collection that followed removed.
    public let garbage: GarbageReport
}

extension ChunkStore {
    /// Records an accepted block, all in one durable transaction: the block
    /// at its height, its certificates kept and marked accepted, the chunks
    /// it references marked accepted, the watermark moved to the block's
    /// timestamp (never back) and garbage collected up to it.
    ///
    /// The block must extend the accepted tip (height + 1, parent = tip); the
    /// first block recorded may have any height. Recording the tip again is a
    /// no-op that reports no garbage.
    @discardableResult
    public func recordAccepted(_ block: Block) async throws -> AcceptanceReport {
        let tables = self.tables
        let meta = self.meta
        let collector = garbageCollector
        let bytes = block.encoded()
        let certificates = block.certificates.map { ($0.reference, $0.encoded()) }
        return try await submit { txn in
            let tip = BlockTip(height: block.height, id: block.id)
            if let current = try meta.acceptedTip(txn) {
                if current == tip { return AcceptanceReport(tip: tip, missingChunks: [], garbage: GarbageReport()) }
                guard current.height < .max, block.height == current.height + 1, block.parent == current.id else {
                    return try Self.outOfOrder(block, current)
                }
            }
            try txn.put(bytes, forKey: Keys.height(block.height), in: tables.blocks)
            var missing: [ChunkReference] = []
            for (reference, certificateBytes) in certificates {
                if try !Self.markAccepted(reference.chunkID, expiry: reference.expiry, tables, txn) {
                    missing.append(reference)
                }
                try txn.put(
                    [ChunkStatus.accepted.rawValue] + certificateBytes,
                    forKey: Keys.certificate(reference.expiry, reference.chunkID), in: tables.certificates)
            }
            try meta.setAcceptedTip(tip, txn)
            let watermark = max(try meta.watermark(txn), block.timestamp)
            try meta.setWatermark(watermark, txn)
            let garbage = try collector.collect(upTo: watermark, txn)
            return AcceptanceReport(tip: tip, missingChunks: missing, garbage: garbage)
        }
    }

    private static func outOfOrder(_ block: Block, _ tip: BlockTip) throws -> AcceptanceReport {
        throw ChunkStoreError(
            .blockOutOfOrder,
            "block \(block.id) at height \(block.height) with parent \(block.parent) does not extend the accepted tip \(tip)")
    }

    /// Marks a held chunk accepted; returns false when it is not held.
    static func markAccepted(
        _ id: ChunkID, expiry: Int64, _ tables: Tables, _ txn: borrowing WriteTransaction
    ) throws -> Bool {
        let key = Keys.chunk(expiry, id)
        guard let value = try txn.get(key, in: tables.chunks) else { return false }
        let record = try value.withUnsafeBytes { try ChunkRecord.parse($0).record }
        if record.status == .accepted { return true }
        var accepted = record
        accepted.status = .accepted
        var updated = value
        updated.replaceSubrange(0..<ChunkRecord.headerSize, with: accepted.headerBytes)
        try txn.put(updated, forKey: key, in: tables.chunks)
        try txn.delete(Keys.expiry(.pending, record.expiry, id), in: tables.byExpiry)
        try txn.put([UInt8](), forKey: Keys.expiry(.accepted, record.expiry, id), in: tables.byExpiry)
        return true
    }

    /// Records that blocks up to `height` have been executed. The executed
    /// tip only moves forward and never past the accepted tip.
    public func markExecuted(height: UInt64) async throws {
        let meta = self.meta
        try await submit { txn in
            guard let accepted = try meta.acceptedTip(txn), height <= accepted.height else {
                throw ChunkStoreError(.blockOutOfOrder, "cannot mark height \(height) executed: it is not accepted")
            }
            if let executed = try meta.executedTip(txn), executed >= height { return }
            try meta.put(height, MetaKey.executedTip, txn)
        }
    }

    /// Moves the watermark forward to `watermark` (never back) and collects
    /// garbage up to it.
    @discardableResult
    public func collectGarbage(upTo watermark: Int64) async throws -> GarbageReport {
        let meta = self.meta
        let collector = garbageCollector
        return try await submit { txn in
            let current = max(try meta.watermark(txn), watermark)
            try meta.setWatermark(current, txn)
            return try collector.collect(upTo: current, txn)
        }
    }

    /// The last accepted block's height and id, or nil before the first.
    public func acceptedTip() throws -> BlockTip? {
        try snapshot { txn in try meta.acceptedTip(txn) }
    }

    /// The height up to which blocks have been executed, or nil.
    public func executedTip() throws -> UInt64? {
        try snapshot { txn in try meta.executedTip(txn) }
    }

    /// The accepted block at `height`, or nil.
    public func block(at height: UInt64) throws -> Block? {
        let limits = DecodingLimits(rules: configuration.rules)
        return try snapshot { txn in
            try txn.withValue(forKey: Keys.height(height), in: tables.blocks) { value in
                do {
                    return try Block(decoding: Array(value), limits: limits)
                } catch {
                    throw ChunkStoreError(.corruptRecord, "block at height \(height) does not decode: \(error)")
                }
            }
        }
    }

    var garbageCollector: GarbageCollector {
        GarbageCollector(
            tables: tables, rules: configuration.rules, acceptedRetention: configuration.acceptedRetention,
            evidenceRetention: configuration.evidenceRetention)
    }
}
