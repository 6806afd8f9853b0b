import CLMDB

extension Environment {
    /// Facts about the environment: map size, last page, last transaction,
    /// readers.
    ///
    /// The corresponding C functions are `mdb_env_info` and `mdb_env_stat`.
    package func info() throws -> EnvironmentInfo {
        try withOpenHandle("mdb_env_info") { env in
            var info = MDB_envinfo()
            var stat = MDB_stat()
            try check(mdb_env_info(env, &info), "mdb_env_info", path: path)
            try check(mdb_env_stat(env, &stat), "mdb_env_stat", path: path)
            return EnvironmentInfo(
                mapSize: info.me_mapsize, lastPage: info.me_last_pgno,
                lastTransactionID: info.me_last_txnid, maxReaders: Int(info.me_maxreaders),
                readersInUse: Int(info.me_numreaders), pageSize: Int(stat.ms_psize))
        }
    }

    /// Statistics of `database` in a fresh snapshot.
    package func statistics(of database: Database) throws -> DatabaseStatistics {
        try read { txn in try txn.statistics(of: database) }
    }

    /// Copies the environment into the existing, empty directory `path`,
    /// optionally compacting it (`MDB_CP_COMPACT`: free pages are left out
    /// and pages renumbered). Runs in a read snapshot, so writers go on.
    ///
    /// The corresponding C function is `mdb_env_copy2`.
    package func copy(to destination: String, compact: Bool = true) throws {
        _ = try OpenPathRegistry.identity(of: destination)
        try withOpenHandle("mdb_env_copy2") { env in
            let flags = compact ? UInt32(MDB_CP_COMPACT) : 0
            try check(mdb_env_copy2(env, destination, flags), "mdb_env_copy2", path: destination)
        }
    }

    /// Copies the environment, optionally compacted, into the open file
    /// `descriptor`, which becomes a `data.mdb`. The caller creates the file
    /// (its mode, `O_EXCL`, where), syncs it and gives it its name. Runs in a
    /// read snapshot, so writers go on.
    ///
    /// The corresponding C function is `mdb_env_copyfd2`.
    package func copy(toDescriptor descriptor: Int32, compact: Bool = true) throws {
        try withOpenHandle("mdb_env_copyfd2") { env in
            let flags = compact ? UInt32(MDB_CP_COMPACT) : 0
            try check(mdb_env_copyfd2(env, descriptor, flags), "mdb_env_copyfd2", path: path)
        }
    }

    /// Flushes the data to disk; `force` flushes even when the environment
    /// was opened with relaxed durability. A sync that fails with an I/O
    /// error or a full disk makes writes fail closed, as a failed commit
    /// does.
    ///
    /// The corresponding C function is `mdb_env_sync`.
    package func sync(force: Bool = true) throws {
        try withOpenHandle("mdb_env_sync") { env in
            let rc = mdb_env_sync(env, force ? 1 : 0)
            guard rc == MDB_SUCCESS else {
                let error = LMDBError(LMDBError.Code(rawValue: rc), operation: "mdb_env_sync", path: path)
                if error.code.leavesStateUnknown { failClosed(error) }
                throw error
            }
        }
    }

    /// Clears reader slots left by dead processes; returns how many.
    ///
    /// The corresponding C function is `mdb_reader_check`.
    @discardableResult
    package func clearStaleReaders() throws -> Int {
        try withOpenHandle("mdb_reader_check") { env in
            var dead: Int32 = 0
            try check(mdb_reader_check(env, &dead), "mdb_reader_check", path: path)
            staleReadersClearedLater.add(Int(dead), ordering: .relaxed)
            return Int(dead)
        }
    }

    /// Runs `body` with the handle while the environment is guaranteed open.
    func withOpenHandle<R>(_ operation: String, _ body: (OpaquePointer) throws -> R) throws -> R {
        guard gate.enter() != nil else { throw closedError(operation) }
        defer { gate.leave() }
        return try body(handle)
    }
}
