import CLMDB

typealias MDBValue = MDB_val

/// What every transaction can do: read. `ReadTransaction` and
/// `WriteTransaction` conform; functions that only read take
/// `borrowing some Transaction & ~Copyable`... or simply use either.
///
/// Transactions are non-copyable and lent to a closure, so they cannot
/// outlive it or move to another thread.
package protocol Transaction: ~Copyable {
    /// The underlying `MDB_txn`, valid only inside the transaction's closure.
    var unsafeHandle: OpaquePointer { get }
    /// The environment the transaction belongs to.
    var environment: Environment { get }
}

/// A read-only snapshot, lent by `Environment.read(_:)`.
package struct ReadTransaction: Transaction, ~Copyable {
    package let unsafeHandle: OpaquePointer
    package let environment: Environment

    init(handle: OpaquePointer, environment: Environment) {
        self.unsafeHandle = handle
        self.environment = environment
    }
}

/// A write transaction, lent by `Environment.write(_:)`; it commits when the
/// closure returns and aborts when it throws.
package struct WriteTransaction: Transaction, ~Copyable {
    package let unsafeHandle: OpaquePointer
    package let environment: Environment
    let state: WriteState

    init(handle: OpaquePointer, environment: Environment, state: WriteState) {
        self.unsafeHandle = handle
        self.environment = environment
        self.state = state
    }

    /// Checks a write's result, remembering `MDB_MAP_FULL` so the environment
    /// grows the map and retries even if the caller swallows the error.
    ///
    /// A failure that leaves LMDB's state unknown (an I/O error, a full disk,
    /// a panic, a damaged page) is remembered too: the transaction is then
    /// aborted and the environment fails closed however the caller handles
    /// the error.
    func checkWrite(_ rc: Int32, _ operation: String, _ database: Database?) throws(LMDBError) {
        if rc == MDB_SUCCESS { return }
        if rc == MDB_MAP_FULL { state.sawMapFull = true }
        let error = LMDBError(
            LMDBError.Code(rawValue: rc), operation: operation, database: database?.name, path: environment.path)
        if error.code.leavesStateUnknown && state.failure == nil { state.failure = error }
        throw error
    }

    /// Counts one put or delete against an armed fault; throws the injected
    /// failure when it fires. One relaxed atomic load when no fault is armed.
    @inline(__always)
    func injectFault(_ operation: String, _ database: Database) throws(LMDBError) {
        guard environment.faults.isArmed, let code = environment.faults.fire(.put) else { return }
        try checkWrite(code.rawValue, operation, database)
    }
}

extension Transaction where Self: ~Copyable {
    /// The transaction's id: for a read, the id of the snapshot's last
    /// committed write (`mdb_txn_id`).
    package var id: UInt64 { UInt64(mdb_txn_id(unsafeHandle)) }
}
