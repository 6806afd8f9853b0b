import SystemC
import CLMDB

extension Environment {
    /// Stale reader slots cleared since the environment opened, by writers'
    /// periodic checks and `clearStaleReaders()` (those cleared at open are
    /// `staleReadersCleared`).
    package var staleReadersClearedSinceOpen: Int { staleReadersClearedLater.load(ordering: .relaxed) }

    /// The failure that made writes fail closed, or nil while writes work.
    package var writeFailure: LMDBError? { writerFailure.withLock { $0 } }

    /// Cursor moves (`mdb_cursor_get` calls: seeks and steps) made by every
    /// transaction of this environment since it opened: what walking a
    /// table costs, for tests that bound it.
    var cursorSteps: Int { cursorStepCount.load(ordering: .acquiring) }

    /// The reader table: one entry per slot in use, by any process.
    ///
    /// The corresponding C function is `mdb_reader_list`.
    package func readers() throws -> [ReaderSlot] {
        final class Lines {
            var text = ""
        }
        let lines = Lines()
        try withOpenHandle("mdb_reader_list") { env in
            let context = Unmanaged.passUnretained(lines).toOpaque()
            let rc = mdb_reader_list(
                env,
                { message, context in
                    guard let message, let context else { return 0 }
                    Unmanaged<Lines>.fromOpaque(context).takeUnretainedValue().text += String(cString: message)
                    return 0
                }, context)
            if rc < 0 { try check(rc, "mdb_reader_list", path: path) }
        }
        return lines.text.split(separator: "\n").compactMap(ReaderSlot.init(line:))
    }

    // MARK: Failing closed

    func refuseIfFailed() throws(LMDBError) {
        guard let failure = writerFailure.withLock({ $0 }) else { return }
        throw LMDBError(
            .writerFailed, operation: "mdb_txn_begin", path: path,
            message:
                "writes are refused since an earlier write failed (\(failure)); LMDB's state after a failed write or sync is unknown, so close and reopen the environment"
        )
    }

    /// Records the first failure that leaves the state unknown.
    func failClosed(_ failure: LMDBError) {
        writerFailure.withLock { if $0 == nil { $0 = failure } }
    }

    // MARK: After each commit

    /// Work a writer does after a successful commit, off the transaction:
    /// clear stale reader slots when the interval passed, and grow the map
    /// ahead of need.
    func afterCommit() {
        clearStaleReadersIfDue()
        growAheadIfNeeded()
    }

    private func clearStaleReadersIfDue() {
        guard let interval = options.staleReaderCheckInterval else { return }
        let intervalNanoseconds = Self.nanoseconds(interval)
        let now = Self.monotonicNanoseconds()
        let last = lastStaleReaderCheck.load(ordering: .relaxed)
        guard now &- last >= intervalNanoseconds else { return }
        lastStaleReaderCheck.store(now, ordering: .relaxed)
        // A failure here changes nothing stored; the next interval retries.
        _ = try? clearStaleReaders()
    }

    static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        return UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
    }

    static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}

/// One slot of the reader table, as `mdb_reader_list` shows it.
package struct ReaderSlot: Sendable, Hashable {
    /// The process holding the slot.
    package let processID: Int32
    /// The snapshot (transaction id) the slot pins, or nil when the slot is
    /// held but no read is open in it.
    package let transactionID: Int?

    /// Parses one line `pid thread txnid`; nil for the heading.
    init?(line: Substring) {
        let fields = line.split(separator: " ")
        guard fields.count == 3, let pid = Int32(fields[0]) else { return nil }
        processID = pid
        transactionID = Int(fields[2])
    }
}
