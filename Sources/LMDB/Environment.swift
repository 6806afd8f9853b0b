import CLMDB
import Synchronization

/// An open LMDB environment: one directory, one memory map, its named
/// databases.
///
/// Open it once per process and share the instance; a second open of the same
/// directory in the same process is refused. Transactions are scoped by
/// closures: `read { }` for snapshots, `write { }` for changes, which commit
/// when the closure returns and abort when it throws.
///
/// - Note: Safe to share across threads (`@unchecked Sendable`): the
///   `MDB_env` is thread-safe once open, the database handles are immutable
///   after open, write transactions never leave the closure (and so the thread)
///   that began them, read transactions use `MDB_NOTLS`, and the mutable
///   bookkeeping is guarded by the transaction gate and a mutex.
package final class Environment: @unchecked Sendable {
    /// The directory the environment lives in.
    package let path: String
    /// The options it was opened with.
    package let options: EnvironmentOptions
    /// How many stale reader slots (left by processes that died while
    /// reading) were cleared when it opened.
    package let staleReadersCleared: Int

    let handle: OpaquePointer
    let gate = TransactionGate()
    private let identity: OpenPathRegistry.Identity
    private let databases: [String: Database]
    private let readerPool = Mutex<[PooledReader]>([])
    private static let readerPoolLimit = 32
    /// When (monotonic nanoseconds) growth last waited in vain for reads.
    let lastGrowthTimeout = Atomic<UInt64>(0)
    /// The failure that made the writer fail closed, if one did.
    let writerFailure = Mutex<LMDBError?>(nil)
    /// When (monotonic nanoseconds) a writer last cleared stale readers.
    let lastStaleReaderCheck = Atomic<UInt64>(0)
    /// Stale reader slots cleared since open (at open not included).
    let staleReadersClearedLater = Atomic<Int>(0)
    /// Cursor moves made by every transaction since open.
    let cursorStepCount = Atomic<Int>(0)
    /// Faults a test may inject; off by default.
    let faults = FaultSwitch()

    /// Opens (creating if needed and not read-only) the environment described
    /// by `options`, clears stale reader slots and opens the declared named
    /// databases in one transaction.
    ///
    /// An existing `data.mdb` is checked before it is mapped
    /// (`DataFileCheck`): an empty file, one that is not LMDB, a damaged meta
    /// page or a file shorter than its meta page says fail with
    /// `LMDBError.Code.invalid` or `.corrupted` instead of faulting later. A
    /// `data.mdb` or `lock.mdb` that is a symbolic link is refused with
    /// `invalid`, naming it (checked before and, for `data.mdb`, again
    /// against the file LMDB opened).
    /// A `lock.mdb` that is not a lock file is rebuilt by LMDB when no other
    /// process has the environment open, and refused with `invalid` or
    /// `versionMismatch` when one has.
    ///
    /// The corresponding C functions are `mdb_env_create`, `mdb_env_open`,
    /// `mdb_env_get_fd`, `mdb_reader_check` and `mdb_dbi_open`.
    package init(_ options: EnvironmentOptions) throws {
        try options.validate()
        let path = options.path
        let identity = try OpenPathRegistry.identity(of: path)
        try OpenPathRegistry.claim(identity, path: path)

        var env: OpaquePointer?
        do {
            // Before mapping: LMDB trusts the meta pages and the file's size.
            try DataFileCheck.validate(directory: path)
            try check(mdb_env_create(&env), "mdb_env_create", path: path)
        } catch {
            OpenPathRegistry.release(identity)
            throw error
        }
        guard let env else { preconditionFailure("mdb_env_create returned no handle") }
        do {
            try check(mdb_env_set_maxreaders(env, options.maxReaders), "mdb_env_set_maxreaders", path: path)
            try check(mdb_env_set_maxdbs(env, options.maxDatabases), "mdb_env_set_maxdbs", path: path)
            try check(mdb_env_set_mapsize(env, options.mapSize), "mdb_env_set_mapsize", path: path)
            let rc = mdb_env_open(env, path, options.flags, mdb_mode_t(options.fileMode))
            if rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH {
                throw LMDBError(
                    LMDBError.Code(rawValue: rc), operation: "mdb_env_open", path: path,
                    message: "data.mdb or lock.mdb is not an LMDB file of a compatible version")
            }
            try check(rc, "mdb_env_open", path: path)
            var descriptor: mdb_filehandle_t = -1
            try check(mdb_env_get_fd(env, &descriptor), "mdb_env_get_fd", path: path)
            try DataFileCheck.confirmOpened(descriptor, directory: path)
            var dead: Int32 = 0
            try check(mdb_reader_check(env, &dead), "mdb_reader_check", path: path)
            self.staleReadersCleared = Int(dead)
            self.databases = try Self.openDatabases(env, options: options)
        } catch {
            mdb_env_close(env)
            OpenPathRegistry.release(identity)
            throw error
        }
        self.handle = env
        self.maxKeySize = Int(mdb_env_get_maxkeysize(env))
        self.path = path
        self.options = options
        self.identity = identity
    }

    private static func openDatabases(
        _ env: OpaquePointer, options: EnvironmentOptions
    ) throws -> [String: Database] {
        if options.databases.isEmpty { return [:] }
        var txn: OpaquePointer?
        let txnFlags = options.readOnly ? UInt32(MDB_RDONLY) : 0
        try check(mdb_txn_begin(env, nil, txnFlags, &txn), "mdb_txn_begin", path: options.path)
        var result: [String: Database] = [:]
        do {
            for name in options.databases {
                var dbi = MDB_dbi()
                let flags = options.readOnly || !options.createDatabases ? 0 : UInt32(MDB_CREATE)
                let rc = mdb_dbi_open(txn, name, flags, &dbi)
                if rc == MDB_NOTFOUND {
                    throw LMDBError(
                        .unknownDatabase, operation: "mdb_dbi_open", database: name,
                        path: options.path,
                        message: options.readOnly
                            ? "the database does not exist in this read-only environment"
                            : "the database does not exist and was not to be created")
                }
                try check(rc, "mdb_dbi_open", database: name, path: options.path)
                result[name] = Database(name: name, handle: dbi)
            }
            // Committing (even a read-only transaction) makes the handles
            // visible to every later transaction.
            try check(mdb_txn_commit(txn), "mdb_txn_commit", path: options.path)
        } catch {
            mdb_txn_abort(txn)
            throw error
        }
        return result
    }

    deinit { close() }

    /// Closes the environment once every open transaction has finished. Later
    /// calls throw `LMDBError.Code.closed`. Closing twice is harmless.
    ///
    /// The corresponding C function is `mdb_env_close`.
    package func close() {
        gate.exclusive(closing: true) {
            for reader in readerPool.withLock({ pool in
                defer { pool.removeAll() }
                return pool
            }) {
                mdb_txn_abort(reader.txn)
            }
            mdb_env_close(handle)
            OpenPathRegistry.release(identity)
        }
    }

    /// The named database `name`, which must have been declared in
    /// `EnvironmentOptions.databases`.
    package func database(_ name: String) throws -> Database {
        guard let database = databases[name] else {
            throw LMDBError(
                .unknownDatabase, operation: "database", database: name, path: path,
                message: "the database was not declared when the environment was opened")
        }
        return database
    }

    /// Every declared database, by name.
    package var allDatabases: [Database] { databases.values.sorted { $0.name < $1.name } }

    /// The largest key LMDB accepts (511 bytes in default builds).
    package let maxKeySize: Int

    // MARK: Read transactions

    /// Runs `body` in a read-only snapshot. The transaction ends when `body`
    /// returns; values it lends are valid only inside `body`.
    ///
    /// A read does not wait for writers. It waits only while the map is
    /// being grown, at most `maxGrowthWait`: growth ahead of need happens
    /// only when no transaction is open, and growth a full map forces holds
    /// new transactions back for at most that long, then gives up.
    ///
    /// While `body` runs, its snapshot pins every page it can see (the file
    /// grows instead of reusing them) and it keeps the map from growing. So
    /// `body` must not block: no waiting for the network, a lock, a
    /// semaphore or another thread's work; no `write` (on this thread it
    /// would fail with `mapFull` rather than wait when the map is full). A
    /// body that runs longer than `maxGrowthWait` while the map is full makes
    /// the pending write fail with `growthTimedOut`. Copy what must outlive
    /// the snapshot and do slow work after `read` returns.
    package func read<R>(_ body: (borrowing ReadTransaction) throws -> R) throws -> R {
        while true {
            guard gate.enter() != nil else { throw closedError("mdb_txn_begin") }
            let txn: OpaquePointer
            do {
                txn = try beginRead()
            } catch LMDBError.Code.mapResized {
                gate.leave()
                try adoptGrownMap()
                continue
            } catch {
                gate.leave()
                throw error
            }
            defer {
                endRead(txn)
                gate.leave()
            }
            // Bound to a local on purpose: passing the initialiser's result
            // straight to `body` crashes the Swift 6.3.1 optimiser when it
            // specialises `read` ("Cannot initialize a nonCopyable type with
            // a guaranteed value", release builds only).
            let transaction = ReadTransaction(handle: txn, environment: self)
            return try body(transaction)
        }
    }

    private func beginRead() throws -> OpaquePointer {
        if let pooled = readerPool.withLock({ $0.popLast()?.txn }) {
            let rc = mdb_txn_renew(pooled)
            if rc == MDB_SUCCESS { return pooled }
            mdb_txn_abort(pooled)
            try check(rc, "mdb_txn_renew", path: path)
        }
        var txn: OpaquePointer?
        try check(mdb_txn_begin(handle, nil, UInt32(MDB_RDONLY), &txn), "mdb_txn_begin", path: path)
        guard let txn else { preconditionFailure("mdb_txn_begin returned no handle") }
        return txn
    }

    private func endRead(_ txn: OpaquePointer) {
        mdb_txn_reset(txn)
        let kept = readerPool.withLock { pool -> Bool in
            guard pool.count < Self.readerPoolLimit else { return false }
            pool.append(PooledReader(txn: txn))
            return true
        }
        if !kept { mdb_txn_abort(txn) }
    }

    // MARK: Write transactions

    /// Runs `body` in a write transaction that commits when `body` returns
    /// and aborts when it throws.
    ///
    /// When the map fills up, the transaction is aborted, the map grown (once
    /// no transaction of this process is open) and `body` run again: `body`
    /// may therefore run more than once and must not have effects outside the
    /// transaction that it cannot repeat. Callers see `mapFull` only when the
    /// map reached `maxMapSize` or the calling thread holds another
    /// transaction (so growth could not wait for it), and `growthTimedOut`
    /// when read transactions of this process stayed open longer than
    /// `maxGrowthWait` (or, within `maxGrowthWait` after that happened, when
    /// any is open). After a commit the map is grown ahead of need (when
    /// more than three quarters are used and nothing is open at that moment)
    /// and, every `staleReaderCheckInterval`, stale reader slots are cleared.
    ///
    /// A failed commit, a failed sync or an I/O error in a write leaves
    /// LMDB's state unknown: the write throws that failure and the
    /// environment fails closed: every later write throws `writerFailed`
    /// (naming the first failure) until it is reopened. Reads go on.
    ///
    /// Write transactions are serialised across threads and processes by
    /// LMDB's writer lock; a thread must not start a write inside another.
    package func write<R>(_ body: (borrowing WriteTransaction) throws -> R) throws -> R {
        if options.readOnly {
            throw LMDBError(.readOnly, operation: "mdb_txn_begin", path: path)
        }
        while true {
            try refuseIfFailed()
            guard let generation = gate.enter() else { throw closedError("mdb_txn_begin") }
            var raw: OpaquePointer?
            let rc = mdb_txn_begin(handle, nil, 0, &raw)
            if rc == MDB_MAP_RESIZED {
                gate.leave()
                try adoptGrownMap()
                continue
            }
            guard rc == MDB_SUCCESS, let raw else {
                gate.leave()
                let error = LMDBError(LMDBError.Code(rawValue: rc), operation: "mdb_txn_begin", path: path)
                if error.code == .panic { failClosed(error) }
                throw error
            }
            let state = WriteState()
            let outcome: Result<R, any Error>
            do {
                let value = try body(WriteTransaction(handle: raw, environment: self, state: state))
                if let failure = state.failure {
                    mdb_txn_abort(raw)
                    outcome = .failure(failure)
                } else if state.sawMapFull {
                    mdb_txn_abort(raw)
                    outcome = .failure(LMDBError(.mapFull, operation: "mdb_put", path: path))
                } else if let failure = commit(raw) {
                    // Only MAP_FULL at commit is clean (nothing was written).
                    if failure.code != .mapFull { state.failure = failure }
                    outcome = .failure(failure)
                } else {
                    outcome = .success(value)
                }
            } catch {
                mdb_txn_abort(raw)
                outcome = .failure(state.failure ?? error)
            }
            gate.leave()
            switch outcome {
            case .success(let value):
                afterCommit()
                return value
            case .failure(let error):
                if let failure = state.failure {
                    failClosed(failure)
                    throw failure
                }
                if state.sawMapFull || LMDBError.Code.mapFull ~= error {
                    try grow(seenGeneration: generation)
                    continue
                }
                throw error
            }
        }
    }

    /// Commits `txn`, or returns why it failed. An injected `commit` fault
    /// aborts instead; an injected `sync` fault reports a failure after the
    /// commit was made.
    private func commit(_ txn: OpaquePointer) -> LMDBError? {
        if faults.isArmed, let code = faults.fire(.commit) {
            mdb_txn_abort(txn)
            return LMDBError(code, operation: "mdb_txn_commit", path: path, message: "injected commit fault: \(code)")
        }
        let rc = mdb_txn_commit(txn)
        if rc != MDB_SUCCESS {
            return LMDBError(LMDBError.Code(rawValue: rc), operation: "mdb_txn_commit", path: path)
        }
        if faults.isArmed, let code = faults.fire(.sync) {
            return LMDBError(code, operation: "mdb_env_sync", path: path, message: "injected sync fault: \(code)")
        }
        return nil
    }

    func closedError(_ operation: String) -> LMDBError {
        LMDBError(.closed, operation: operation, path: path)
    }
}

/// A reset read transaction kept for reuse (`mdb_txn_renew` is cheaper than
/// `mdb_txn_begin`: it keeps its reader slot). Sendable because a pooled
/// transaction is owned by the pool alone until a reader takes it out.
struct PooledReader: @unchecked Sendable {
    let txn: OpaquePointer
}

/// Mutable facts about a write transaction that outlive its closure.
final class WriteState {
    var sawMapFull = false
    /// The first failure that leaves the transaction's outcome unknown (an
    /// I/O error, a full disk, a panic), kept even if the caller swallows it.
    var failure: LMDBError?
}
