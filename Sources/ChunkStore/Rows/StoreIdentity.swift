import DSMR

/// What a store belongs to: its network, chain and node, and the rules and
/// retention it was last opened with. Kept in `meta`; another network, chain
/// or node refuses the open, and so does a change of the rules that tie
/// stored keys to time (slot duration, chunk lifetime, rate-limit window)
/// unless asked for. Limits, quorum and retention follow the latest writer's
/// configuration (tools adopt them).
public struct StoreIdentity: Sendable, Hashable {
    /// The network id.
    public var networkID: UInt32
    /// The chain id.
    public var chainID: ChainID
    /// The node whose signing history the store keeps.
    public var nodeID: NodeID
    /// The rules the store was last opened with.
    public var rules: Rules
    /// How long (ms) accepted chunks are kept after expiry, as last opened.
    public var acceptedRetention: Int64
    /// How long (ms) evidence is kept, as last opened.
    public var evidenceRetention: Int64
    /// How long (ms) accepted blocks are kept, as last opened; nil: as long
    /// as accepted chunks.
    public var blockRetention: Int64?

    package init(_ configuration: StoreConfiguration) {
        networkID = configuration.networkID
        chainID = configuration.chainID
        nodeID = configuration.nodeID
        rules = configuration.rules
        acceptedRetention = configuration.acceptedRetention
        evidenceRetention = configuration.evidenceRetention
        blockRetention = configuration.blockRetention
    }

    package init(
        networkID: UInt32, chainID: ChainID, nodeID: NodeID, rules: Rules, acceptedRetention: Int64,
        evidenceRetention: Int64, blockRetention: Int64? = nil
    ) {
        self.networkID = networkID
        self.chainID = chainID
        self.nodeID = nodeID
        self.rules = rules
        self.acceptedRetention = acceptedRetention
        self.evidenceRetention = evidenceRetention
        self.blockRetention = blockRetention
    }

    /// Reads the identity of the existing store at `path` (read-only, the
    /// environment closed again before returning).
    public static func read(at path: String) throws -> StoreIdentity {
        let environment = try StoreEnvironment.open(path, readOnly: true)
        defer { environment.close() }
        let tables = try Tables(environment)
        return try environment.read { txn in
            guard let stored = try load(StoreReader(txn, tables: tables)) else {
                // Rows without an identity: the meta rows were lost, the
                // store was not left empty by a foreign program.
                if let table = try tables.all.first(where: { try txn.count(of: $0) > 0 }) {
                    throw ChunkStoreError(
                        .damaged,
                        "the store at \(path) is damaged: it has no store identity in meta but holds rows in "
                            + "\(table.name); `dsmr-store check -s \(path)` shows what is damaged; restore the "
                            + "store from a backup before the node signs again")
                }
                throw ChunkStoreError(.wrongStore, "\(path) has no store identity in meta")
            }
            return stored
        }
    }

    package static func load(_ r: borrowing some StoreTransaction & ~Copyable) throws -> StoreIdentity? {
        if try r.meta(MetaKey.loadIncomplete) != nil {
            throw ChunkStoreError(
                .wrongStore,
                "the store was being written by a load from a dump or a salvage that did not finish; remove it and run that again"
            )
        }
        guard let version = try r.meta(MetaKey.version)?.value else { return nil }
        guard Schema.readable.contains(version) else {
            throw ChunkStoreError(
                .wrongStore,
                "the store has schema version \(version); this build reads versions \(Schema.readable.lowerBound) to \(Schema.readable.upperBound)"
            )
        }
        guard let network = try r.meta(MetaKey.network)?.value,
            let chain = try r.meta(MetaKey.chain),
            let node = try r.meta(MetaKey.node),
            let rules = try r.meta(MetaKey.rules),
            let retention = try r.meta(MetaKey.retention)
        else {
            throw ChunkStoreError(.corruptRecord, "meta lacks the network, chain, node, rules or retention row")
        }
        do {
            return StoreIdentity(
                networkID: network, chainID: try ChainID(bytes: chain.bytes), nodeID: try NodeID(bytes: node.bytes),
                rules: rules.rules, acceptedRetention: retention.accepted, evidenceRetention: retention.evidence,
                blockRetention: try r.meta(MetaKey.blockRetention)?.value)
        } catch {
            throw ChunkStoreError(.corruptRecord, "meta identity: \(error)")
        }
    }

    package func verify(_ r: borrowing some StoreTransaction & ~Copyable, path: String) throws {
        guard let stored = try Self.load(r) else {
            throw ChunkStoreError(.wrongStore, "\(path) has no store identity in meta")
        }
        try checkMatches(stored, path: path)
    }

    package func verifyOrInitialise(_ w: borrowing StoreWriter, path: String, acceptTimingChange: Bool) throws {
        if let stored = try Self.load(w) {
            try checkMatches(stored, path: path)
            let currentVersion = try w.meta(MetaKey.version)?.value == Schema.version
            if stored == self && currentVersion { return }
            if !acceptTimingChange, let change = timingChange(from: stored.rules) {
                throw ChunkStoreError(
                    .wrongStore,
                    "\(path) was written with \(change); expiries, slots and rate-limit windows already stored follow the old value. Open with acceptTimingChange once the network has moved to the new rules"
                )
            }
            if timingChange(from: stored.rules) != nil {
                // Under the old rules every slot below this one could be
                // pruned already: new rules must not make it signable again.
                let floor = GarbageCollector.firstLiveSlot(watermark: try w.watermark(), rules: stored.rules) ?? .max
                try w.raiseSigningFloor(to: floor)
            }
        } else {
            try w.setMeta(MetaKey.network, UInt32Row(networkID))
            try w.setMeta(MetaKey.chain, BytesRow(chainID.bytes))
            try w.setMeta(MetaKey.node, BytesRow(nodeID.bytes))
            try w.setWatermark(0)
        }
        try w.setMeta(MetaKey.version, UInt32Row(Schema.version))
        try w.setMeta(MetaKey.rules, RulesRow(rules))
        try w.setMeta(MetaKey.retention, RetentionRow(accepted: acceptedRetention, evidence: evidenceRetention))
        if let blockRetention {
            try w.setMeta(MetaKey.blockRetention, Int64Row(blockRetention))
        } else {
            try w.delete(w.tables.meta, MetaKey.blockRetention.key)
        }
    }

    /// The first rule that fixes how stored keys map to time, if it changed:
    /// slot duration, chunk lifetime or rate-limit window.
    private func timingChange(from stored: Rules) -> String? {
        if stored.slotDuration != rules.slotDuration {
            return "slotDuration \(stored.slotDuration) (now \(rules.slotDuration))"
        }
        if stored.chunkLifetime != rules.chunkLifetime {
            return "chunkLifetime \(stored.chunkLifetime) (now \(rules.chunkLifetime))"
        }
        if stored.rateLimitWindow != rules.rateLimitWindow {
            return "rateLimitWindow \(stored.rateLimitWindow) (now \(rules.rateLimitWindow))"
        }
        return nil
    }

    private func checkMatches(_ stored: StoreIdentity, path: String) throws {
        if stored.networkID != networkID {
            throw ChunkStoreError(.wrongStore, "\(path) belongs to network \(stored.networkID), not \(networkID)")
        }
        if stored.chainID != chainID {
            throw ChunkStoreError(.wrongStore, "\(path) belongs to chain \(stored.chainID), not \(chainID)")
        }
        if stored.nodeID != nodeID {
            throw ChunkStoreError(.wrongStore, "\(path) belongs to node \(stored.nodeID), not \(nodeID)")
        }
    }
}

/// The fixed binary form of `Rules` kept in `meta`: version (1), seven
/// 8-byte fields, units (40), quorum (16), skew (8), validity window (8).
package struct RulesRow: Row {
    package static let version: UInt8 = 1
    package static let size: Int? = 1 + 8 * 7 + Dimensions.fixedByteCount + 16 + 8 + 8
    package var rules: Rules

    package init(_ rules: Rules) { self.rules = rules }

    package var encoded: [UInt8] {
        var writer = RowWriter(capacity: Self.size!)
        writer.uint8(Self.version)
        writer.int64(rules.slotDuration)
        writer.int64(rules.chunkLifetime)
        writer.uint64(rules.maxFutureSlots)
        writer.uint64(UInt64(rules.maxChunkBytes))
        writer.uint64(UInt64(rules.maxChunksPerSlot))
        writer.uint64(rules.rateLimitWindow)
        writer.int64(rules.epochDuration)
        writer.bytes(rules.maxUnitsPerWindow.fixedBytes)
        writer.uint64(rules.quorum.numerator)
        writer.uint64(rules.quorum.denominator)
        writer.int64(rules.maxBlockSkew)
        writer.int64(rules.validityWindow)
        return writer.bytes
    }

    package init(decoding bytes: UnsafeRawBufferPointer) throws {
        var reader = RowReader(bytes, "meta rules")
        let version = bytes.isEmpty ? 0 : try reader.uint8()
        guard bytes.count == Self.size!, version == Self.version else {
            throw ChunkStoreError(.corruptRecord, "meta rules: \(bytes.count) bytes, version \(version)")
        }
        let slotDuration = try reader.int64()
        let chunkLifetime = try reader.int64()
        let maxFutureSlots = try reader.uint64()
        let maxChunkBytes = Int(clamping: try reader.uint64())
        let maxChunksPerSlot = Int(clamping: try reader.uint64())
        let rateLimitWindow = try reader.uint64()
        let epochDuration = try reader.int64()
        let units = try Dimensions(fixedBytes: reader.bytes(Dimensions.fixedByteCount))
        let numerator = try reader.uint64()
        let denominator = try reader.uint64()
        let quorum: Quorum
        do {
            quorum = try Quorum(numerator: numerator, denominator: denominator)
        } catch {
            throw ChunkStoreError(.corruptRecord, "meta rules: \(error)")
        }
        let maxBlockSkew = try reader.int64()
        let validityWindow = try reader.int64()
        rules = Rules(
            slotDuration: slotDuration, chunkLifetime: chunkLifetime, maxFutureSlots: maxFutureSlots,
            maxChunkBytes: maxChunkBytes, maxChunksPerSlot: maxChunksPerSlot, rateLimitWindow: rateLimitWindow,
            maxUnitsPerWindow: units, quorum: quorum, epochDuration: epochDuration, maxBlockSkew: maxBlockSkew,
            validityWindow: validityWindow)
        do {
            try rules.validate()
        } catch {
            throw ChunkStoreError(.corruptRecord, "meta rules: \(error)")
        }
    }
}
