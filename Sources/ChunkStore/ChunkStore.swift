import DSMR
import LMDB
import Synchronization

/// The durable store behind a validator's chunk server, on LMDB.
///
/// It keeps chunks (indexed by producer and slot and by expiry),
/// certificates, the signing ledger that stops this node from ever signing two
/// chunks of one producer in one slot, per-producer rate-limit ledgers,
/// conflict evidence and accepted blocks, and collects what expired.
///
/// Writes go through one writer thread that folds concurrent requests into a
/// single durable transaction (group commit); each caller gets its own
/// result. Reads run on the caller's thread in snapshots and never wait for
/// the writer; they wait only while the map grows, at most
/// ``StoreConfiguration/maxGrowthWait``. Opening reads `meta` only, whatever the store holds.
///
/// One process writes a store at a time: it holds `writer.lock`. Read-only
/// opens work beside a writer.
///
/// Every operation throws ``ChunkStoreError`` only, LMDB's failures included:
/// `storeFull` at the size ceiling, `busy` when a read held the map too long
/// for it to grow (safe to retry), `io` for a failed disk operation, then
/// `writerFailed` for every later write until the store is reopened, and
/// `damaged` for pages LMDB cannot read.
public final class ChunkStore: Sendable {
    /// The configuration the store was opened with (identity and rules as
    /// stored when adopted from an existing store).
    public let configuration: StoreConfiguration
    /// The store's LMDB environment (internal: the store's methods are the
    /// only way in).
    package let environment: Environment
    let tables: Tables
    private let writer: GroupCommitWriter?
    private let lock: WriterLock?
    private let closing = Mutex(false)

    /// Opens the store at `configuration.path`, creating it when it does not
    /// exist (unless read-only). A store made for another network, chain or
    /// node, or by another schema version, is refused. A store whose files
    /// are damaged (an empty or cut-short `data.mdb`, a damaged meta page, a
    /// damaged page of `meta`) is refused with `damaged`, naming
    /// `dsmr-store check`; damage deeper in the other tables is found only when
    /// they are read.
    public init(_ configuration: StoreConfiguration) throws {
        try configuration.validate()
        let path = configuration.path
        var lock: WriterLock?
        var createdDirectory = false
        var createdFiles = false
        if !configuration.readOnly {
            createdDirectory = try FileSystem.makeDirectory(path)
            lock = try WriterLock(directory: path)
            createdFiles = !FileSystem.exists(path + "/data.mdb")
        }
        do {
            let environment = try StoreEnvironment.open(
                path, readOnly: configuration.readOnly, durability: configuration.durability,
                mapSize: configuration.mapSize, maxMapSize: configuration.maxMapSize,
                maxGrowthWait: configuration.maxGrowthWait)
            let tables = try Tables(environment)
            let identity = StoreIdentity(configuration)
            if configuration.readOnly {
                try environment.read { txn in try identity.verify(StoreReader(txn, tables: tables), path: path) }
            } else {
                try environment.write { txn in
                    try StoreWriter.with(txn, tables: tables) { w in
                        try identity.verifyOrInitialise(
                            w, path: path, acceptTimingChange: configuration.acceptTimingChange)
                    }
                }
                // A new store's files must not vanish in a power loss after
                // it signed something: make their directory entries durable.
                if createdFiles { try FileSystem.syncDirectory(path) }
                if createdDirectory { try FileSystem.syncDirectory(FileSystem.parent(of: path)) }
            }
            self.environment = environment
            self.tables = tables
        } catch {
            lock?.release()
            throw ChunkStoreError.opening(path, error)
        }
        self.configuration = configuration
        self.lock = lock
        if configuration.readOnly {
            writer = nil
        } else {
            let writer = GroupCommitWriter(
                environment: environment, maxBatch: configuration.maxBatch, maxGroupWait: configuration.maxGroupWait)
            writer.start()
            self.writer = writer
        }
    }

    /// Opens an existing store, taking its identity and rules from its
    /// `meta` (for tools that inspect or maintain a store).
    public convenience init(adopting path: String, readOnly: Bool, durability: StoreDurability = .synced) throws {
        let identity: StoreIdentity
        do {
            identity = try StoreIdentity.read(at: path)
        } catch {
            throw ChunkStoreError.opening(path, error)
        }
        var configuration = StoreConfiguration(
            path: path, networkID: identity.networkID, chainID: identity.chainID, nodeID: identity.nodeID,
            rules: identity.rules)
        configuration.acceptedRetention = identity.acceptedRetention
        configuration.evidenceRetention = identity.evidenceRetention
        configuration.blockRetention = identity.blockRetention
        configuration.readOnly = readOnly
        configuration.durability = durability
        try self.init(configuration)
    }

    /// Stops the writer once queued writes finish, then closes the
    /// environment and releases the writer lock. Later calls fail with
    /// `closed`.
    public func close() {
        // Once, whoever calls: concurrent callers wait for the first to finish.
        closing.withLock { closed in
            guard !closed else { return }
            closed = true
            writer?.stop()
            environment.close()
            lock?.release()
        }
    }

    deinit { close() }

    /// Whether the store was opened read-only.
    public var isReadOnly: Bool { writer == nil }

    /// Runs `body` on the writer thread inside the next group-committed
    /// transaction and returns its result once the transaction is durable.
    /// LMDB's errors come out as `ChunkStoreError` (`SealedErrors`).
    package func submit<Value: Sendable>(
        _ body: @escaping (borrowing StoreWriter) throws -> Value
    ) async throws -> Value {
        try requireWritable()
        let tables = self.tables
        let writer = self.writer!
        return try await SealedErrors.sealed(configuration.path, .writing) {
            try await writer.submit { txn in try StoreWriter.with(txn, tables: tables, body) }
        }
    }

    /// Whether the calling thread took the idle writer
    /// (`GroupCommitWriter.claimIdleWriter()`); if so it must then call
    /// `commitClaimed(_:)` exactly once.
    func claimIdleWriter() -> Bool { writer?.claimIdleWriter() ?? false }

    /// Runs `body` in a transaction committed durably on the calling thread,
    /// which claimed the writer with `claimIdleWriter()`.
    func commitClaimed<Value: Sendable>(_ body: @escaping (borrowing StoreWriter) throws -> Value) throws -> Value {
        let tables = self.tables
        return try SealedErrors.sealed(configuration.path, .writing) {
            try writer!.commitClaimed { txn in try StoreWriter.with(txn, tables: tables, body) }
        }
    }

    /// Throws `readOnly` when the store was opened read-only.
    func requireWritable() throws {
        if writer == nil { throw ChunkStoreError(.readOnly, "the store at \(configuration.path) is open read-only") }
    }

    /// Runs `body` in a read snapshot; LMDB's errors come out as
    /// `ChunkStoreError` (`SealedErrors`: a closed store as `closed`, a
    /// damaged page as `damaged`).
    package func snapshot<R>(_ body: (borrowing StoreReader) throws -> R) throws -> R {
        try SealedErrors.sealed(configuration.path, .reading) {
            try environment.read { txn in try body(StoreReader(txn, tables: tables)) }
        }
    }

    /// The writer's batches and requests so far: `requests / batches` is the
    /// mean group size.
    public var groupCommitCounts: (batches: Int, requests: Int) { writer?.counts ?? (0, 0) }

    /// How many group commits the writer held open for signing callers on
    /// their way (`StoreConfiguration.maxGroupWait`).
    public var groupsHeldOpen: Int { writer?.heldCount ?? 0 }

    /// How many signing writes their callers committed on their own thread,
    /// finding the writer idle; each also counts as a batch of one in
    /// `groupCommitCounts`.
    public var writesCommittedInline: Int { writer?.inlineCount ?? 0 }

    /// Runs `body`, a signing caller's checks before it queues its write,
    /// counted as a caller on its way to the writer while it runs.
    func preparing<R>(_ body: () throws -> R) rethrows -> R {
        guard let writer else { return try body() }
        writer.beginPreparing()
        defer { writer.endPreparing() }
        return try body()
    }

    /// Requests queued for the writer and not yet taken into a batch (for
    /// tests that need several requests in one group commit).
    var queuedWriteCount: Int { writer?.queuedCount ?? 0 }
}

extension ChunkStore {
    /// The size of the header that precedes a chunk's canonical bytes in its
    /// `chunks` record (for tools that measure the store against raw LMDB).
    public static var recordHeaderSize: Int { ChunkRecord.headerSize }
}
