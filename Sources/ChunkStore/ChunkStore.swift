#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
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
/// the writer. Opening reads `meta` only, whatever the store holds.
///
/// One process writes a store at a time: it holds `writer.lock`. Read-only
/// opens work beside a writer.
public final class ChunkStore: Sendable {
    /// The configuration the store was opened with (identity and rules as
    /// stored when adopted from an existing store).
    public let configuration: StoreConfiguration
    /// The store's LMDB environment, for maintenance and statistics.
    public let environment: Environment
    let tables: Tables
    let meta: MetaAccess
    private let writer: GroupCommitWriter?
    private let lock: WriterLock?
    private let closing = Mutex(false)

    /// Opens the store at `configuration.path`, creating it when it does not
    /// exist (unless read-only). A store made for another network, chain or
    /// node, or by another schema version, is refused.
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
            var options = EnvironmentOptions(path: path)
            options.databases = Schema.all
            options.readOnly = configuration.readOnly
            options.durability = configuration.durability
            options.mapSize = configuration.mapSize
            options.maxMapSize = max(configuration.maxMapSize, configuration.mapSize)
            let environment: Environment
            do {
                environment = try Environment(options)
            } catch let error as LMDBError where error.code == .unknownDatabase {
                throw ChunkStoreError(.wrongStore, "\(path) is not a chunk store (\(error.message))")
            }
            let tables = try Tables(environment)
            let meta = MetaAccess(table: tables.meta)
            let identity = StoreIdentity(configuration)
            if configuration.readOnly {
                try environment.read { txn in try identity.verify(meta, txn, path: path) }
            } else {
                try environment.write { txn in
                    try identity.verifyOrInitialise(
                        meta, txn, path: path, acceptTimingChange: configuration.acceptTimingChange)
                }
                // A new store's files must not vanish in a power loss after
                // it signed something: make their directory entries durable.
                if createdFiles { try FileSystem.syncDirectory(path) }
                if createdDirectory { try FileSystem.syncDirectory(FileSystem.parent(of: path)) }
            }
            self.environment = environment
            self.tables = tables
            self.meta = meta
        } catch {
            lock?.release()
            throw error
        }
        self.configuration = configuration
        self.lock = lock
        if configuration.readOnly {
            writer = nil
        } else {
            let writer = GroupCommitWriter(environment: environment, maxBatch: configuration.maxBatch)
            writer.start()
            self.writer = writer
        }
    }

    /// Opens an existing store, taking its identity and rules from its
    /// `meta` (for tools that inspect or maintain a store).
    public convenience init(adopting path: String, readOnly: Bool, durability: Durability = .synced) throws {
        let identity = try StoreIdentity.read(at: path)
        var configuration = StoreConfiguration(
            path: path, networkID: identity.networkID, chainID: identity.chainID, nodeID: identity.nodeID,
            rules: identity.rules)
        configuration.acceptedRetention = identity.acceptedRetention
        configuration.evidenceRetention = identity.evidenceRetention
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
    func submit<Value: Sendable>(
        _ body: @escaping (borrowing WriteTransaction) throws -> Value
    ) async throws -> Value {
        guard let writer else { throw ChunkStoreError(.readOnly, "the store at \(configuration.path) is open read-only") }
        return try await writer.submit(body)
    }

    /// Runs `body` in a read snapshot; a closed store is reported as
    /// `ChunkStoreError.Code.closed`.
    func snapshot<R>(_ body: (borrowing ReadTransaction) throws -> R) throws -> R {
        do {
            return try environment.read(body)
        } catch let error as LMDBError where error.code == .closed {
            throw ChunkStoreError(.closed, "the store at \(configuration.path) is closed")
        }
    }

    /// The writer's batches and requests so far: `requests / batches` is the
    /// mean group size.
    public var groupCommitCounts: (batches: Int, requests: Int) { writer?.counts ?? (0, 0) }
}
