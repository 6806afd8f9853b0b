import CLMDB

/// Map growth. LMDB changes the map size only while no transaction of the
/// process is open, so every growth goes through the transaction gate.
extension Environment {
    /// Grows the map after a write hit `MDB_MAP_FULL`: doubles it up to 1 GiB,
    /// then adds 1 GiB at a time, never beyond `maxMapSize`. Waits at most
    /// `maxGrowthWait` for open transactions of this process. Within
    /// `maxGrowthWait` after such a wait timed out, it does not hold reads
    /// back again: it grows only if nothing is open at that moment and fails
    /// at once otherwise, so a read that never ends cannot keep every other
    /// read waiting while writes keep coming.
    func grow(seenGeneration: Int) throws {
        if gate.callerHoldsTransaction {
            throw LMDBError(
                .mapFull, operation: "grow map", path: path,
                message: "the map is full and cannot grow while this thread holds another transaction")
        }
        var failure: LMDBError?
        func growOnce() {
            let current = currentMapSize()
            guard current < options.maxMapSize else {
                failure = LMDBError(
                    .mapFull, operation: "grow map", path: path,
                    message: "the map reached its ceiling of \(options.maxMapSize) bytes (maxMapSize)")
                return
            }
            failure = setMapSize(nextMapSize(after: current))
        }
        let now = Self.monotonicNanoseconds()
        let coolingDown = now &- lastGrowthTimeout.load(ordering: .relaxed) < Self.nanoseconds(options.maxGrowthWait)
        let outcome =
            coolingDown
            ? gate.tryExclusive(onlyIfGeneration: seenGeneration, growOnce)
            : gate.exclusive(onlyIfGeneration: seenGeneration, waitingAtMost: options.maxGrowthWait, growOnce)
        if let failure { throw failure }
        switch outcome {
        case .closed: throw closedError("grow map")
        case .timedOut:
            lastGrowthTimeout.store(Self.monotonicNanoseconds(), ordering: .relaxed)
            throw LMDBError(
                .growthTimedOut, operation: "grow map", path: path,
                message:
                    "the map is full and a read transaction of this process stayed open longer than maxGrowthWait (\(options.maxGrowthWait)) while the map waited to grow; the write was not applied"
            )
        case .busy:
            throw LMDBError(
                .growthTimedOut, operation: "grow map", path: path,
                message:
                    "the map is full, a read transaction of this process is open and growth waited in vain less than maxGrowthWait (\(options.maxGrowthWait)) ago; the write was not applied"
            )
        case .ran, .skippedAsStale: return
        }
    }

    /// The map size growth moves to from `current`.
    func nextMapSize(after current: Int) -> Int {
        min(options.maxMapSize, current + min(current, 1 << 30))
    }

    /// Sets the map size; nil on success. Only inside an exclusive section.
    func setMapSize(_ size: Int) -> LMDBError? {
        let rc = mdb_env_set_mapsize(handle, size)
        return rc == MDB_SUCCESS
            ? nil : LMDBError(LMDBError.Code(rawValue: rc), operation: "mdb_env_set_mapsize", path: path)
    }

    /// Adopts a map size that another process set (`MDB_MAP_RESIZED`).
    func adoptGrownMap() throws {
        if gate.callerHoldsTransaction {
            // Remapping waits for every transaction, this thread's included.
            throw LMDBError(
                .mapResized, operation: "mdb_env_set_mapsize", path: path,
                message:
                    "another process grew the map; it cannot be adopted while this thread holds another transaction")
        }
        var failure: LMDBError?
        let outcome = gate.exclusive(waitingAtMost: options.maxGrowthWait) { failure = setMapSize(0) }
        if let failure { throw failure }
        switch outcome {
        case .closed: throw closedError("mdb_env_set_mapsize")
        case .timedOut:
            throw LMDBError(
                .mapResized, operation: "mdb_env_set_mapsize", path: path,
                message:
                    "another process grew the map and a read transaction of this process stayed open longer than maxGrowthWait (\(options.maxGrowthWait)); retry once it ends"
            )
        case .ran, .skippedAsStale, .busy: return
        }
    }

    func currentMapSize() -> Int {
        var info = MDB_envinfo()
        mdb_env_info(handle, &info)
        return info.me_mapsize
    }

    /// Grows the map when more than three quarters of it are used, but only
    /// at a moment when no transaction of this process is open: it never
    /// holds a read back. Growth under pressure (the map full) is `write`'s.
    func growAheadIfNeeded() {
        guard
            let (used, mapSize) = try? withOpenHandle(
                "mdb_env_info",
                { env -> (Int, Int) in
                    var info = MDB_envinfo()
                    var stat = MDB_stat()
                    mdb_env_info(env, &info)
                    mdb_env_stat(env, &stat)
                    return ((info.me_last_pgno + 1) * Int(stat.ms_psize), info.me_mapsize)
                })
        else { return }
        guard used > mapSize / 4 * 3, mapSize < options.maxMapSize else { return }
        gate.tryExclusive {
            // Unchanged since measured: nothing else grew it meanwhile.
            if currentMapSize() == mapSize { _ = setMapSize(nextMapSize(after: mapSize)) }
        }
    }
}
