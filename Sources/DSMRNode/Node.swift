import ChunkStore
import DSMR
import Synchronization

/// One validator's DSMR logic over its store and a transport: builds and
/// certifies chunks, serves peers, and builds, verifies, accepts and
/// executes blocks. The API towards consensus is shaped like a snowman VM:
/// ``buildChunk()``, ``buildBlock(parent:timestamp:verifier:)``,
/// ``verify(block:parent:)``, ``accept(_:executing:)``, ``reject(_:)``.
public final class Node: Sendable {
    struct Chain {
        var lastAccepted: Block
        /// Verified blocks not yet accepted or rejected, by id, each with
        /// the number of the verification that kept it. At most
        /// ``NodeOptions/maxProcessingBlocks``: a proposer may make any number of
        /// valid blocks, so past that bound the block verified first is
        /// forgotten (a child of it then fails with
        /// ``NodeError/Code/unknownParent`` until it is verified again).
        var processing: [BlockID: (block: Block, order: UInt64)] = [:]
        /// How many blocks were kept so far: the next one's order.
        var verified: UInt64 = 0

        /// Keeps `block` as verified, forgetting the block verified first when `capacity` are kept.
        mutating func keep(_ block: Block, capacity: Int) {
            if processing[block.id] == nil, processing.count >= capacity,
                let oldest = processing.min(by: { $0.value.order < $1.value.order })?.key
            {
                processing[oldest] = nil
            }
            processing[block.id] = (block, verified)
            verified &+= 1
        }
    }

    /// This validator's key.
    public let signer: any Signer
    /// The node's store: the node core's alone (its owner reaches it through
    /// the node's reads and ``closeStore()``).
    package let store: ChunkStore
    /// How it reaches peers.
    public let transport: any Transport
    /// Validator sets by epoch.
    public let validators: any ValidatorSetProvider
    /// The local clock.
    public let clock: any NodeClock
    /// The last accepted block's timestamp.
    package let chainTime: ChainTimeSource
    /// The handlers peers reach.
    package let server: ChunkServer
    /// Transactions waiting for this node's chunks.
    public let mempool: Mempool
    /// Executes accepted blocks.
    public let executor: BlockExecutor
    /// Request pacing.
    public let options: NodeOptions
    let certificates: CertificateVerificationCache
    let fetcher: ChunkFetcher
    let chain: Mutex<Chain>

    /// Opens the node on `store`, records the genesis block (height 0,
    /// `options.genesisTime`, executed with the assembler's genesis root) if
    /// the store has no block yet, and registers the handlers with `transport`.
    public init(
        signer: any Signer, store: ChunkStore, transport: any Transport, validators: any ValidatorSetProvider,
        clock: any NodeClock, assembler: any Assembler, mempool: Mempool = Mempool(),
        options: NodeOptions = NodeOptions()
    ) async throws {
        self.signer = signer
        self.store = store
        self.transport = transport
        self.validators = validators
        self.clock = clock
        self.mempool = mempool
        self.options = options
        if try store.acceptedTip() == nil {
            let genesis = Block(parent: .zero, height: 0, timestamp: options.genesisTime.milliseconds, certificates: [])
            try await store.recordAccepted(genesis)
            try await store.markExecuted(height: 0, stateRoot: try assembler.genesisRoot())
        }
        guard let tip = try store.acceptedTip(), let last = try store.block(at: tip.height) else {
            throw ChunkStoreError(.corruptRecord, "the accepted tip's block is missing")
        }
        chain = Mutex(Chain(lastAccepted: last))
        chainTime = try ChainTimeSource(store: store, genesis: options.genesisTime)
        certificates = CertificateVerificationCache()
        server = ChunkServer(
            store: store, validators: validators, chainTime: chainTime, clock: clock, certificates: certificates,
            penalize: { transport.penalize($0, for: $1) })
        let limits = DecodingLimits(rules: store.configuration.rules)
        fetcher = ChunkFetcher(
            local: signer.nodeID, transport: transport, validators: validators, limits: limits,
            timeout: options.fetchTimeout, rounds: options.fetchRounds, backoff: options.fetchBackoff)
        executor = BlockExecutor(
            store: store, assembler: assembler, chunks: FetchingChunkSource(store: store, fetcher: fetcher))
        transport.register(server)
    }

    /// Answers peers' state-sync messages (attestations, snapshot offers and
    /// pieces) with `service` from now on.
    public func serveStateSync(_ service: any StateSyncService) { server.serveStateSync(service) }

    /// The protocol rules (the store's).
    public var rules: Rules { store.configuration.rules }
    /// The signing domain (the store's).
    public var domain: SigningDomain { store.configuration.domain }
    /// This node's id.
    public var nodeID: NodeID { signer.nodeID }

    /// The last accepted block.
    public var lastAccepted: Block { chain.withLock { $0.lastAccepted } }

    /// Executes accepted blocks not yet executed (after a restart, or after
    /// a chunk could not be fetched) and returns the heights executed.
    @discardableResult
    public func executePending() async throws -> [(height: UInt64, root: StateRoot)] {
        try await executor.executePending()
    }
}
