import ChunkStore
import DSMR
import LMDB
import LMDBForensics

extension ChunkStore {
    /// Reads every row of every table and reports every inconsistency, each
    /// naming its table and key and whether `recover()` repairs it: chunks
    /// that do not hash to their id or whose header disagrees; index rows
    /// without records and records without index rows; ledgers that differ
    /// from what the stored chunks imply; `signed` rows whose chunk is
    /// missing; certificates that do not decode or disagree with their key
    /// or held chunk; evidence that does not prove its conflict (see
    /// `ConflictEvidence.provesItself(domain:)`); blocks that do not decode,
    /// leave gaps or break parent links; `meta` rows missing or out of range,
    /// tips that are not the last block, a watermark below the tip's
    /// timestamp; pending rows the watermark should have collected; keys of
    /// the wrong shape; and LMDB's page structure (`PageWalk`: pages reached
    /// twice, in use and listed free, out of range or with wrong headers,
    /// and, when none of those, pages neither in use nor listed free),
    /// reported in the pseudo-table `pages`. Runs in one snapshot, so it is
    /// safe on a live store.
    /// `progress`, if given, hears how far each table's check has come.
    public func check(progress: ProgressHandler? = nil) throws -> CheckReport {
        var checker = StoreChecker(
            rules: configuration.rules, limits: DecodingLimits(rules: configuration.rules),
            domain: configuration.domain)
        checker.progress = ProgressCounter(progress)
        var report = try snapshot { r in try checker.check(r) }
        let walk = try SealedErrors.sealed(configuration.path, .reading) {
            try environment.read { txn in try PageWalk.verify(directory: configuration.path, transactionID: txn.id) }
        }
        for problem in walk?.problems ?? [] {
            report.add(.pageStructure, "pages", Self.bigEndian(problem.page), problem.description)
        }
        for run in walk?.leakedRuns ?? [] {
            let pages = run.count == 1 ? "page \(run.lowerBound) is" : "pages \(run) (\(run.count) pages) are"
            report.add(
                .pageLeaked, "pages", Self.bigEndian(run.lowerBound),
                "\(pages) neither reachable from any tree nor listed free: the space is lost, the rows are intact")
        }
        return report
    }

    private static func bigEndian(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) }
    }

    /// Rebuilds every derived row (chunk indexes, ledgers, missing `signed`
    /// rows) from the primary records, in place and in one transaction,
    /// rebuilds damaged record headers whose chunk still hashes to its id,
    /// and drops what cannot be trusted (chunk records that do not hash to
    /// their id, certificates that do not decode, keys of the wrong size).
    /// Afterwards `check()` finds at most what the report lists as
    /// `unrepaired`.
    public func recover() async throws -> RecoveryReport {
        let recovery = StoreRecovery(
            rules: configuration.rules, limits: DecodingLimits(rules: configuration.rules), node: configuration.nodeID,
            measure: configuration.measure, domain: configuration.domain)
        return try await submit { w in try recovery.recover(w) }
    }

    /// Copies the store, compacted, into `destination`, leaving this store
    /// untouched. `destination` must lie outside every store's directory
    /// and hold no store; it is created (mode 0700) when missing, and a
    /// symbolic link there is not followed. The copy's `data.mdb` is written
    /// to a new temporary file (`O_EXCL|O_NOFOLLOW`, mode 0600), synced, then
    /// linked into place and the directory synced.
    ///
    /// Every `certificates` and `blocks` row of the copy is in the
    /// checksummed form: rows written before rows carried checksums are
    /// rewritten in the copy, which is then compacted again in place.
    ///
    /// The corresponding C call is `mdb_env_copyfd2` with `MDB_CP_COMPACT`.
    ///
    /// - Throws: `ChunkStoreError/Code/outputInsideStore` or
    ///   `ChunkStoreError/Code/alreadyExists` for a refused destination.
    public func compact(to destination: String) throws {
        let directory = try OutputPlacement.newStoreDirectory(destination)
        let file = try OutputFile("data.mdb", in: directory, replacing: false)
        try file.withDescriptor { descriptor in
            try SealedErrors.sealed(configuration.path, .reading) {
                try environment.copy(toDescriptor: descriptor, compact: true)
            }
        }
        try file.finish()
        let limits = DecodingLimits(rules: configuration.rules)
        if try Self.addChecksums(at: directory.path, limits: limits).total > 0 {
            _ = try Self.compactInPlace(at: directory.path)
        }
    }

    /// Copies the store, compacted, into `destination`, then rebuilds the
    /// copy's derived rows there: recovery that leaves the original as it
    /// was. Works on a store opened read-only.
    public func recover(into destination: String) async throws -> RecoveryReport {
        try compact(to: destination)
        var copy = configuration
        copy.path = destination
        copy.readOnly = false
        let store = try ChunkStore(copy)
        defer { store.close() }
        return try await store.recover()
    }
}
