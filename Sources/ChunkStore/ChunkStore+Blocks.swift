import DSMR

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
    /// at its height, its certificates kept and marked accepted (for as long
    /// as their chunks are), the chunks it references marked accepted, the
    /// watermark moved to the block's timestamp (never back) and garbage
    /// collected up to it, blocks older than `blockRetention` included.
    ///
    /// The block must extend the accepted tip (height + 1, parent = tip); the
    /// first block recorded may have any height. Recording the tip again is a
    /// no-op that reports no garbage.
    @discardableResult
    public func recordAccepted(_ block: Block) async throws -> AcceptanceReport {
        let collector = garbageCollector
        let bytes = block.encoded()
        let certificates = block.certificates.map { ($0.reference, $0.encoded()) }
        return try await submit { w in
            let tip = BlockTip(height: block.height, id: block.id)
            if let current = try w.acceptedTip() {
                if current == tip { return AcceptanceReport(tip: tip, missingChunks: [], garbage: GarbageReport()) }
                guard current.height < .max, block.height == current.height + 1, block.parent == current.id else {
                    return try Self.outOfOrder(block, current)
                }
            }
            try w.put(w.tables.blocks, HeightKey(block.height), BlockRow.encode(block: bytes, stateRoot: nil))
            var missing: [ChunkReference] = []
            for (reference, certificateBytes) in certificates {
                let key = ChunkKey(expiry: reference.expiry, id: reference.chunkID)
                if try !w.markAccepted(key) { missing.append(reference) }
                try w.put(w.tables.certificates, key, CertificateRow(status: .accepted, certificate: certificateBytes))
            }
            try w.setAcceptedTip(tip)
            let previous = try w.watermark()
            let watermark = max(previous, block.timestamp)
            try w.setWatermark(watermark)
            let garbage = try collector.collect(from: previous, upTo: watermark, w)
            return AcceptanceReport(tip: tip, missingChunks: missing, garbage: garbage)
        }
    }

    private static func outOfOrder(_ block: Block, _ tip: BlockTip) throws -> AcceptanceReport {
        throw ChunkStoreError(
            .blockOutOfOrder,
            "block \(block.id) at height \(block.height) with parent \(block.parent) does not extend the accepted tip \(tip)"
        )
    }

    /// Records that blocks up to `height` have been executed. The executed
    /// tip only moves forward and never past the accepted tip.
    public func markExecuted(height: UInt64) async throws {
        try await submit { w in
            guard let accepted = try w.acceptedTip(), height <= accepted.height else {
                throw ChunkStoreError(.blockOutOfOrder, "cannot mark height \(height) executed: it is not accepted")
            }
            if let executed = try w.executedTip(), executed >= height { return }
            try w.setExecutedTip(height)
        }
    }

    /// Records that the block at `height` has been executed with resulting
    /// state root `root`: the root joins the block's row and the executed tip
    /// moves to `height`, in one durable transaction.
    ///
    /// Heights are executed in order: `height` must be accepted and be the
    /// one after the executed tip (any accepted height when none is
    /// executed yet). Recording the executed tip again with the same root is
    /// a no-op; with another root it fails with `corruptRecord`, since
    /// execution is deterministic.
    public func markExecuted(height: UInt64, stateRoot root: StateRoot) async throws {
        let limits = DecodingLimits(rules: configuration.rules)
        try await submit { w in
            guard let accepted = try w.acceptedTip(), height <= accepted.height,
                let bytes = try w.get(w.tables.blocks, HeightKey(height))?.bytes
            else {
                throw ChunkStoreError(.blockOutOfOrder, "cannot mark height \(height) executed: it is not accepted")
            }
            let row = try BlockRow(bytes, height: height, limits: limits)
            if let executed = try w.executedTip(), executed >= height {
                guard executed == height, row.stateRoot == root else {
                    throw ChunkStoreError(
                        .corruptRecord,
                        "height \(height) is already executed with state root "
                            + "\(row.stateRoot.map(\.hex) ?? "none"), not \(root)")
                }
                return
            }
            if let executed = try w.executedTip(), height != executed + 1 {
                throw ChunkStoreError(
                    .blockOutOfOrder, "cannot mark height \(height) executed: the executed tip is \(executed)")
            }
            let executed = BlockRow.encode(block: row.block.encoded(), stateRoot: root)
            try w.put(w.tables.blocks, HeightKey(height), executed)
            try w.setExecutedTip(height)
        }
    }

    /// The state root recorded when the block at `height` was executed, or
    /// nil when that height is not stored or not executed.
    public func stateRoot(at height: UInt64) throws -> StateRoot? {
        let limits = DecodingLimits(rules: configuration.rules)
        return try snapshot { r in
            try r.withRawValue(r.tables.blocks, HeightKey(height)) { value in
                try BlockRow(Array(value), height: height, limits: limits).stateRoot
            } ?? nil
        }
    }

    /// Moves the watermark forward to `time` (never back) and collects
    /// garbage up to it.
    ///
    /// A `time` beyond the ``ChainTimeBounds`` of this store (measured from
    /// the later of its watermark and `now`) is refused unless `force` is
    /// true: collecting up to `Int64.max` would remove every row.
    ///
    /// - Parameters:
    ///   - time: the chain time to collect up to (the watermark, if later).
    ///   - now: the node's clock as chain time; nil reads the wall clock.
    ///   - force: collects up to a time beyond the bounds.
    /// - Throws: ``ChunkStoreError/Code/implausible`` naming the time and the
    ///   bound, changing nothing.
    @discardableResult
    public func collectGarbage(
        upTo time: ChainTime, now: ChainTime? = nil, force: Bool = false
    ) async throws -> GarbageReport {
        let collector = garbageCollector
        let rules = configuration.rules
        let clock = now ?? Platform.wallClock()
        return try await submit { w in
            let previous = try w.watermark()
            if !force { try Self.checkPlausible(time, previous: previous, clock: clock, rules: rules) }
            let current = max(previous, time.milliseconds)
            try w.setWatermark(current)
            return try collector.collect(from: previous, upTo: current, w)
        }
    }

    /// What `collectGarbage(upTo:now:force:)` would remove now, changing
    /// nothing: the collection runs in a nested transaction that is rolled
    /// back, so the figures are exact and the store (watermark included)
    /// stays as it was. Needs the writer, like a real collection, and refuses
    /// what it would refuse.
    public func previewGarbage(
        upTo time: ChainTime, now: ChainTime? = nil, force: Bool = false
    ) async throws -> GarbageReport {
        let collector = garbageCollector
        let rules = configuration.rules
        let clock = now ?? Platform.wallClock()
        return try await submit { w in
            try w.rolledBack { child in
                let previous = try child.watermark()
                if !force { try Self.checkPlausible(time, previous: previous, clock: clock, rules: rules) }
                let current = max(previous, time.milliseconds)
                try child.setWatermark(current)
                return try collector.collect(from: previous, upTo: current, child)
            }
        }
    }

    /// Refuses a collection up to `time` beyond the bounds measured from the
    /// later of the `previous` watermark and `clock`.
    private static func checkPlausible(_ time: ChainTime, previous: Int64, clock: ChainTime, rules: Rules) throws {
        try ChainTimeBounds(reference: max(.milliseconds(previous), clock), rules: rules).checkWatermark(
            time.milliseconds, field: "the watermark",
            consequence: "collecting up to it would remove every row expiring before it",
            remedy: "Collect with force (--force)")
    }

    /// The last accepted block's height and id, or nil before the first.
    public func acceptedTip() throws -> BlockTip? {
        try snapshot { r in try r.acceptedTip() }
    }

    /// The height up to which blocks have been executed, or nil.
    public func executedTip() throws -> UInt64? {
        try snapshot { r in try r.executedTip() }
    }

    /// The accepted block at `height`, or nil.
    public func block(at height: UInt64) throws -> Block? {
        let limits = DecodingLimits(rules: configuration.rules)
        return try snapshot { r in
            try r.withRawValue(r.tables.blocks, HeightKey(height)) { value in
                try BlockRow(Array(value), height: height, limits: limits).block
            }
        }
    }

    package var garbageCollector: GarbageCollector {
        GarbageCollector(
            rules: configuration.rules, acceptedRetention: configuration.acceptedRetention,
            evidenceRetention: configuration.evidenceRetention,
            blockRetention: configuration.blockRetention ?? configuration.acceptedRetention)
    }
}

extension ChunkStore {
    /// Records the blocks a state sync fetched, lowest first, and the last
    /// one executed with `root`, all in one durable transaction: a crash
    /// leaves the store as empty as it was, or holding them all.
    ///
    /// The store must hold no block past genesis (a genesis block there is
    /// replaced); the blocks must follow one another
    /// (each the parent of the next). Their certificates are kept and
    /// marked accepted as by ``recordAccepted(_:)``, the watermark moves to
    /// the last block's timestamp, and garbage is collected up to it.
    public func recordSynced(_ blocks: [Block], executedWith root: StateRoot) async throws {
        guard let last = blocks.last else { return }
        for (lower, upper) in zip(blocks, blocks.dropFirst()) {
            guard upper.height == lower.height + 1, upper.parent == lower.id else {
                throw ChunkStoreError(
                    .blockOutOfOrder, "block \(upper.id) at height \(upper.height) does not follow \(lower.id)")
            }
        }
        let collector = garbageCollector
        let rows = blocks.map { block in
            (
                block.height,
                BlockRow.encode(block: block.encoded(), stateRoot: block.height == last.height ? root : nil),
                block.certificates.map { ($0.reference, $0.encoded()) }
            )
        }
        try await submit { w in
            if let tip = try w.acceptedTip() {
                // Only the genesis block may be there; it gives way to the synced chain.
                guard tip.height == 0, blocks.first!.height > 0 || blocks.first!.id == tip.id else {
                    throw ChunkStoreError(
                        .blockOutOfOrder, "the store holds blocks past genesis (tip \(tip)); sync into a new store")
                }
                try w.delete(w.tables.blocks, HeightKey(0))
            }
            for (height, row, certificates) in rows {
                try w.put(w.tables.blocks, HeightKey(height), row)
                for (reference, certificateBytes) in certificates {
                    let key = ChunkKey(expiry: reference.expiry, id: reference.chunkID)
                    _ = try w.markAccepted(key)
                    try w.put(
                        w.tables.certificates, key, CertificateRow(status: .accepted, certificate: certificateBytes))
                }
            }
            try w.setAcceptedTip(BlockTip(height: last.height, id: last.id))
            let previous = try w.watermark()
            let watermark = max(previous, last.timestamp)
            try w.setWatermark(watermark)
            _ = try collector.collect(from: previous, upTo: watermark, w)
            try w.setExecutedTip(last.height)
        }
    }
}
