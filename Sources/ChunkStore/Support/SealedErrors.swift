import LMDB

/// The boundary where LMDB's errors become the store's: every public
/// operation reaches LMDB through `sealed` (the writer's submit path, the
/// snapshot path, the open path and the few direct calls of maintenance and
/// interchange), so callers only ever see `ChunkStoreError`.
package enum SealedErrors {
    /// What the store was doing when LMDB failed; it decides what a code
    /// means (`MDB_BAD_TXN` in a read follows a damaged page).
    package enum Activity {
        case reading, writing, opening
    }

    /// Runs `body`, turning any `LMDBError` it throws into a `ChunkStoreError`
    /// for the store at `path`; other errors pass through.
    package static func sealed<R>(_ path: String, _ activity: Activity, _ body: () throws -> R) throws -> R {
        do {
            return try body()
        } catch let error as LMDBError {
            throw ChunkStoreError(error, path: path, activity: activity)
        }
    }

    /// `sealed` for an asynchronous `body`.
    package static func sealed<R>(_ path: String, _ activity: Activity, _ body: () async throws -> R) async throws -> R
    {
        do {
            return try await body()
        } catch let error as LMDBError {
            throw ChunkStoreError(error, path: path, activity: activity)
        }
    }
}

extension ChunkStoreError {
    /// The store's error for LMDB's `error` while `activity` ran on the store
    /// at `path`. The message keeps LMDB's words and the path.
    package init(_ error: LMDBError, path: String, activity: SealedErrors.Activity) {
        let lmdb = "LMDB: \(error)"
        switch error.code {
        case _ where error.meansDamage,
            .badTransaction where activity == .reading:
            self.init(.damaged, "the store at \(path) is damaged: LMDB cannot read it (\(lmdb))")
        case .mapFull:
            self.init(
                .storeFull,
                "the store at \(path) reached its size ceiling (maxMapSize) and nothing of the write was stored; "
                    + "collect garbage or reopen it with a higher maxMapSize (\(lmdb))")
        case .writerFailed:
            self.init(
                .writerFailed,
                "the store at \(path) refuses writes since an earlier write failed; its state on disk is unknown, "
                    + "so close and reopen it (\(lmdb))")
        case .growthTimedOut:
            self.init(
                .busy,
                "the store at \(path) needed its map grown while a read of this process held it too long; "
                    + "nothing of the write was stored and it is safe to retry once the read ends (\(lmdb))")
        case .mapResized, .readersFull:
            self.init(.busy, "the store at \(path) could not start a transaction now; retry (\(lmdb))")
        case .closed:
            self.init(.closed, "the store at \(path) is closed (\(lmdb))")
        case .readOnly:
            self.init(.readOnly, "the store at \(path) is open read-only (\(lmdb))")
        case .alreadyOpen:
            self.init(.locked, "the store at \(path) is open in this process already (\(lmdb))")
        case .versionMismatch, .unknownDatabase:
            self.init(.wrongStore, "\(path) is not a chunk store of this version (\(lmdb))")
        case .invalidOption:
            self.init(.invalidConfiguration, "the store at \(path) cannot be opened so (\(lmdb))")
        case _ where error.code.rawValue > 0:
            // An `errno` value: a file or disk operation failed.
            let after =
                activity == .writing && [LMDBError.Code.ioError, .noSpace].contains(error.code)
                ? "; a failed write leaves the store's state on disk unknown, so it refuses writes until "
                    + "it is closed and reopened"
                : ""
            self.init(.io, "an operation on the store at \(path) failed (\(lmdb))\(after)")
        default:
            self.init(.internalError, "the store at \(path) failed unexpectedly (\(lmdb))")
        }
    }
}
