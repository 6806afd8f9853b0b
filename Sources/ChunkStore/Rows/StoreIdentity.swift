import DSMR
import LMDB

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

    init(_ configuration: StoreConfiguration) {
        networkID = configuration.networkID
        chainID = configuration.chainID
        nodeID = configuration.nodeID
        rules = configuration.rules
        acceptedRetention = configuration.acceptedRetention
        evidenceRetention = configuration.evidenceRetention
    }

    init(
        networkID: UInt32, chainID: ChainID, nodeID: NodeID, rules: Rules, acceptedRetention: Int64,
        evidenceRetention: Int64
    ) {
        self.networkID = networkID
        self.chainID = chainID
        self.nodeID = nodeID
        self.rules = rules
        self.acceptedRetention = acceptedRetention
        self.evidenceRetention = evidenceRetention
    }

    /// Reads the identity of the existing store at `path` (read-only, the
    /// environment closed again before returning).
    public static func read(at path: String) throws -> StoreIdentity {
        var options = EnvironmentOptions(path: path)
        options.databases = [Schema.meta]
        options.readOnly = true
        let environment: Environment
        do {
            environment = try Environment(options)
        } catch let error as LMDBError where error.code == .unknownDatabase || error.code == .noSuchFile {
            throw ChunkStoreError(.wrongStore, "\(path) is not a chunk store (\(error.message))")
        }
        defer { environment.close() }
        let meta = MetaAccess(table: try environment.database(Schema.meta))
        return try environment.read { txn in
            guard let stored = try load(meta, txn) else {
                throw ChunkStoreError(.wrongStore, "\(path) has no store identity in meta")
            }
            return stored
        }
    }

    static func load(_ meta: MetaAccess, _ txn: borrowing some LMDB.Transaction & ~Copyable) throws -> StoreIdentity? {
        if try txn.contains(StoreDump.loadMarker, in: meta.table) {
            throw ChunkStoreError(
                .wrongStore, "the store was being loaded from a dump and the load did not finish; remove it and load again")
        }
        guard let version = try meta.uint32(MetaKey.version, txn) else { return nil }
        guard version == Schema.version else {
            throw ChunkStoreError(
                .wrongStore, "the store has schema version \(version); this build reads version \(Schema.version)")
        }
        guard let network = try meta.uint32(MetaKey.network, txn),
            let chain = try txn.get(MetaKey.chain, in: meta.table),
            let node = try txn.get(MetaKey.node, in: meta.table),
            let rulesBytes = try txn.get(MetaKey.rules, in: meta.table),
            let retention = try txn.get(MetaKey.retention, in: meta.table)
        else {
            throw ChunkStoreError(.corruptRecord, "meta lacks the network, chain, node, rules or retention row")
        }
        guard retention.count == 16 else {
            throw ChunkStoreError(.corruptRecord, "meta retention has \(retention.count) bytes, not 16")
        }
        do {
            return StoreIdentity(
                networkID: network, chainID: try ChainID(bytes: chain), nodeID: try NodeID(bytes: node),
                rules: try RulesCodec.decode(rulesBytes),
                acceptedRetention: Int64(bitPattern: Keys.uint64(retention, at: 0)),
                evidenceRetention: Int64(bitPattern: Keys.uint64(retention, at: 8)))
        } catch let error as ChunkStoreError {
            throw error
        } catch {
            throw ChunkStoreError(.corruptRecord, "meta identity: \(error)")
        }
    }

    func verify(_ meta: MetaAccess, _ txn: borrowing some LMDB.Transaction & ~Copyable, path: String) throws {
        guard let stored = try Self.load(meta, txn) else {
            throw ChunkStoreError(.wrongStore, "\(path) has no store identity in meta")
        }
        try checkMatches(stored, path: path)
    }

    func verifyOrInitialise(
        _ meta: MetaAccess, _ txn: borrowing WriteTransaction, path: String, acceptTimingChange: Bool
    ) throws {
        if let stored = try Self.load(meta, txn) {
            try checkMatches(stored, path: path)
            if stored == self { return }
            if !acceptTimingChange, let change = timingChange(from: stored.rules) {
                throw ChunkStoreError(
                    .wrongStore,
                    "\(path) was written with \(change); expiries, slots and rate-limit windows already stored follow the old value. Open with acceptTimingChange once the network has moved to the new rules")
            }
        } else {
            try meta.put(Schema.version, MetaKey.version, txn)
            try meta.put(networkID, MetaKey.network, txn)
            try txn.put(chainID.bytes, forKey: MetaKey.chain, in: meta.table)
            try txn.put(nodeID.bytes, forKey: MetaKey.node, in: meta.table)
            try meta.setWatermark(0, txn)
        }
        try txn.put(RulesCodec.encode(rules), forKey: MetaKey.rules, in: meta.table)
        var retention: [UInt8] = []
        Keys.append(UInt64(bitPattern: acceptedRetention), to: &retention)
        Keys.append(UInt64(bitPattern: evidenceRetention), to: &retention)
        try txn.put(retention, forKey: MetaKey.retention, in: meta.table)
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

/// The fixed binary form of `Rules` kept in `meta`.
enum RulesCodec {
    static let version: UInt8 = 1
    /// version, seven 8-byte fields, units (40), quorum (16), skew (8), validity window (8).
    static let size = 1 + 8 * 7 + 40 + 16 + 8 + 8

    static func encode(_ rules: Rules) -> [UInt8] {
        var bytes: [UInt8] = [version]
        for value in [
            UInt64(bitPattern: rules.slotDuration), UInt64(bitPattern: rules.chunkLifetime), rules.maxFutureSlots,
            UInt64(rules.maxChunkBytes), UInt64(rules.maxChunksPerSlot), rules.rateLimitWindow,
            UInt64(bitPattern: rules.epochDuration),
        ] { Keys.append(value, to: &bytes) }
        bytes.append(contentsOf: rules.maxUnitsPerWindow.fixedBytes)
        Keys.append(rules.quorum.numerator, to: &bytes)
        Keys.append(rules.quorum.denominator, to: &bytes)
        Keys.append(UInt64(bitPattern: rules.maxBlockSkew), to: &bytes)
        Keys.append(UInt64(bitPattern: rules.validityWindow), to: &bytes)
        return bytes
    }

    static func decode(_ bytes: [UInt8]) throws -> Rules {
        guard bytes.count == size, bytes[0] == version else {
            throw ChunkStoreError(.corruptRecord, "meta rules: \(bytes.count) bytes, version \(bytes.first ?? 0)")
        }
        func field(_ index: Int) -> UInt64 { Keys.uint64(bytes, at: 1 + 8 * index) }
        let units = try Dimensions(fixedBytes: bytes[57..<97])
        let rules = Rules(
            slotDuration: Int64(bitPattern: field(0)), chunkLifetime: Int64(bitPattern: field(1)),
            maxFutureSlots: field(2), maxChunkBytes: Int(clamping: field(3)),
            maxChunksPerSlot: Int(clamping: field(4)), rateLimitWindow: field(5), maxUnitsPerWindow: units,
            quorum: try Quorum(numerator: Keys.uint64(bytes, at: 97), denominator: Keys.uint64(bytes, at: 105)),
            epochDuration: Int64(bitPattern: field(6)),
            maxBlockSkew: Int64(bitPattern: Keys.uint64(bytes, at: 113)),
            validityWindow: Int64(bitPattern: Keys.uint64(bytes, at: 121)))
        try rules.validate()
        return rules
    }
}
