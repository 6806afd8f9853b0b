import CLMDB

extension WriteTransaction {
    /// Whether LMDB still accepts this transaction. False once an operation
    /// inside it failed in a way that leaves only an abort (LMDB's
    /// `MDB_TXN_ERROR`: a damaged page met by a read, a failed page
    /// allocation), even when the caller caught that failure and went on:
    /// committing it would fail with `MDB_BAD_TXN`.
    ///
    /// The corresponding C function is `mdb_stat` on the free-page database,
    /// which reads nothing and which LMDB refuses for such a transaction.
    package var isUsable: Bool {
        var stat = MDB_stat()
        return mdb_stat(unsafeHandle, 0, &stat) == MDB_SUCCESS
    }
}
