import LMDB

extension LMDBError {
    /// Whether the error says the environment's files are damaged, as
    /// opposed to missing, locked, full or misused: a page of the wrong type
    /// or not found, a failed environment, a tree deeper than a cursor can
    /// walk, a database record of the wrong size, a file that is not LMDB.
    var meansDamage: Bool {
        [Code.corrupted, .invalid, .pageNotFound, .panic, .cursorFull, .incompatible].contains(code)
    }
}

extension ChunkStoreError {
    /// The error an open of the store at `path` throws for `error`: LMDB's
    /// word that the files are damaged becomes `damaged`, naming the store
    /// and the tool that examines it; LMDB's other errors become the store's
    /// (`ChunkStoreError(_:path:activity:)`); anything else passes through.
    package static func opening(_ path: String, _ error: any Error) -> any Error {
        guard let error = error as? LMDBError else { return error }
        guard error.meansDamage else { return ChunkStoreError(error, path: path, activity: .opening) }
        return ChunkStoreError(
            .damaged,
            "the store at \(path) is damaged and was not opened (\(error.message)); nothing was changed. "
                + "`dsmr-store check -s \(path)` shows what is damaged; restore the store from a backup "
                + "before the node signs again")
    }

    /// The damage `error` reports, as a `ChunkStoreError`, or nil when it
    /// reports something else (a missing store, a lock, a full disk, misuse).
    ///
    /// Damage is: `damaged` and `corruptRecord` errors, and LMDB's codes for
    /// damaged files escaping a read (a page of the wrong type or not found,
    /// a tree too deep, a transaction that one of these already failed).
    /// Meant for a read-only reader: a write can fail a transaction for
    /// other reasons.
    public static func damage(in error: any Error) -> ChunkStoreError? {
        switch error {
        case let error as ChunkStoreError where error.code == .damaged || error.code == .corruptRecord:
            return error
        case let error as LMDBError where error.meansDamage || error.code == .badTransaction:
            return ChunkStoreError(.damaged, "\(error)")
        default:
            return nil
        }
    }
}
