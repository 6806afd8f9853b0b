import DSMR

/// Everything a chunk store is opened with.
public struct StoreConfiguration: Sendable {
    /// The store's directory; created if missing (unless read-only).
    public var path: String
    /// The network the store belongs to; a store of another network is refused.
    public var networkID: UInt32
    /// The chain the store belongs to; a store of another chain is refused.
    public var chainID: ChainID
    /// The node whose signing history the store keeps; a store of another
    /// node is refused.
    public var nodeID: NodeID
    /// The protocol rules: slots, lifetimes, size and rate limits.
    public var rules: Rules
    /// How long (ms) accepted chunks are kept after they expire.
    public var acceptedRetention: Int64 = 60_000
    /// How long (ms) accepted blocks are kept after chain time passes their
    /// timestamp; never less than `Rules.validityWindow` (verifying a block
    /// reads its ancestors that far back, and the one before), and the
    /// accepted tip and blocks not yet executed are always kept. nil (the default) means
    /// `acceptedRetention`: a block's chunks expire after its timestamp and
    /// are kept `acceptedRetention` past their expiry, so every kept block
    /// can be replayed from chunks still held. A longer retention keeps
    /// blocks whose chunks may be gone.
    public var blockRetention: Int64?
    /// How long (ms) conflict evidence is kept after its slot can no longer
    /// be signed; export it before then to keep it.
    public var evidenceRetention: Int64 = 86_400_000
    /// How a chunk's units are measured for the rate limit. The default
    /// counts only bandwidth (the chunk's encoded size); a node that knows
    /// its transaction type adds their declared units.
    public var measure: @Sendable (Chunk, Int) throws -> Dimensions = { _, size in
        Dimensions(bandwidth: UInt64(size), compute: 0, storageRead: 0, storageAllocate: 0, storageWrite: 0)
    }
    /// The key this node signs shares with; its node id must be `nodeID`.
    /// Without one the store can keep chunks but not sign them.
    public var signer: (any Signer)?
    /// Accepts rules whose slot duration, chunk lifetime or rate-limit window
    /// differ from those the store was written with. Off by default: rows
    /// already stored were keyed by the old values, so change them only
    /// together with the network.
    public var acceptTimingChange = false
    /// Opens without taking the writer lock; every mutation is refused.
    public var readOnly = false
    /// How commits reach the disk; synced unless explicitly relaxed. Anything
    /// but `.synced` gives up the promise that a share handed out survives an
    /// operating-system crash, and with it protection against signing twice:
    /// relax it only for tests and bulk loads.
    public var durability: StoreDurability = .synced
    /// The initial LMDB map size; it grows on demand.
    public var mapSize = 64 << 20
    /// The ceiling for map growth: a write that would take the map past it
    /// fails with `ChunkStoreError.Code.storeFull`.
    public var maxMapSize = 1 << 40
    /// How long a write that needs the map grown waits for this process's
    /// open reads (`withChunkBytes` bodies, snapshots) to end; after that the
    /// waiting requests fail with `ChunkStoreError.Code.busy` and reads
    /// go on. Also the longest any read waits for growth.
    public var maxGrowthWait: Duration = .seconds(1)
    /// The most write requests folded into one transaction.
    public var maxBatch = 256
    /// The longest the writer holds a group commit open for signing callers
    /// still checking their chunks, when more of them are on their way than
    /// are queued; it never holds longer than its last commit took, and a
    /// lone caller never waits. Zero closes every group at once.
    public var maxGroupWait: Duration = .milliseconds(2)

    /// A configuration with defaults for everything but the identity.
    public init(path: String, networkID: UInt32, chainID: ChainID, nodeID: NodeID, rules: Rules) {
        self.path = path
        self.networkID = networkID
        self.chainID = chainID
        self.nodeID = nodeID
        self.rules = rules
    }

    /// The signing domain of the store's network and chain.
    public var domain: SigningDomain { SigningDomain(networkID: networkID, chainID: chainID) }

    /// Throws when the configuration contradicts itself: invalid rules, rules
    /// that allow more than one chunk per producer and slot, a signer whose
    /// node id is not `nodeID`, or a negative retention.
    func validate() throws {
        try rules.validate()
        // The signing ledger keeps one chunk per (producer, slot): that row is
        // what refuses a second chunk, and two chunks in one slot are the
        // fault `evidence` records. A limit above one would need another
        // schema and another definition of equivocation, so it is refused
        // rather than silently ignored.
        guard rules.maxChunksPerSlot == 1 else {
            throw ChunkStoreError(
                .invalidConfiguration,
                "maxChunksPerSlot is \(rules.maxChunksPerSlot); the store signs exactly one chunk per producer and slot, so only 1 is supported"
            )
        }
        if let signer, signer.nodeID != nodeID {
            throw ChunkStoreError(
                .invalidConfiguration,
                "the signer is node \(signer.nodeID) but the store belongs to node \(nodeID); a store keeps one node's signing history"
            )
        }
        guard acceptedRetention >= 0, evidenceRetention >= 0, blockRetention ?? 0 >= 0 else {
            throw ChunkStoreError(
                .invalidConfiguration,
                "retention must not be negative (accepted \(acceptedRetention) ms, evidence \(evidenceRetention) ms, blocks \(blockRetention.map { "\($0) ms" } ?? "as accepted"))"
            )
        }
    }
}
