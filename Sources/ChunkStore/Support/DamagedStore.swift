import LMDB

extension LMDBError {
    /// Whether the error says the environment's files are damaged, as
    /// opposed to missing, locked, full or misused.
    var meansDamage: Bool {
        [Code.corrupted, .invalid, .pageNotFound, .panic, .cursorFull, .incompatible].contains(code)
    }
}

extension ChunkStoreError {
    /// The error an open of the store at `path` throws for `error`: LMDB's
    /// word that the files are damaged becomes `damaged`, naming the store
    /// and the tool that examines it; anything else passes through.
    static func opening(_ path: String, _ error: any Error) -> any Error {
        guard let error = error as? LMDBError, error.meansDamage else { return error }
        return ChunkStoreError(
            .damaged,
            "the store at \(path) is damaged and was not opened (\(error.message)); nothing was changed. "
                + "Run `dsmr-store check -s \(path)` to see what is damaged, and restore the store from a backup "
                + "before the node signs again")
    }
}
