import CLMDB

extension WriteTransaction {
    /// Runs `body` in a transaction nested inside this one: its changes join
    /// this transaction when `body` returns and vanish when it throws, while
    /// this transaction goes on. It lets one write transaction carry several
    /// independent requests, each all-or-nothing.
    ///
    /// The corresponding C function is `mdb_txn_begin` with a parent.
    package func nested<R>(_ body: (borrowing WriteTransaction) throws -> R) throws -> R {
        var raw: OpaquePointer?
        try checkWrite(mdb_txn_begin(environment.handle, unsafeHandle, 0, &raw), "mdb_txn_begin (nested)", nil)
        guard let raw else { preconditionFailure("mdb_txn_begin returned no handle") }
        let result: R
        do {
            result = try body(WriteTransaction(handle: raw, environment: environment, state: state))
        } catch {
            mdb_txn_abort(raw)
            throw error
        }
        try checkWrite(mdb_txn_commit(raw), "mdb_txn_commit (nested)", nil)
        return result
    }
}
