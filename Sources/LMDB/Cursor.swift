import CLMDB

/// One key/value pair lent by a cursor. Both buffers point into the memory
/// map and stay valid until the cursor moves or its transaction ends.
package struct Entry {
    /// The key.
    package let key: UnsafeRawBufferPointer
    /// The value.
    package let value: UnsafeRawBufferPointer

    /// A copy of the key.
    package var keyBytes: [UInt8] { Array(key) }
    /// A copy of the value.
    package var valueBytes: [UInt8] { Array(value) }
}

/// A position in a database, lent by `Transaction.withCursor(on:_:)`.
///
/// Every move returns the entry it lands on, or nil when there is none
/// (`MDB_NOTFOUND`); other failures throw.
package struct Cursor: ~Copyable {
    let handle: OpaquePointer
    /// The database the cursor walks.
    package let database: Database
    let path: String
    /// Moves made, added to the environment's count when the cursor closes.
    private let steps: UnsafeMutablePointer<Int>

    init(handle: OpaquePointer, database: Database, path: String, steps: UnsafeMutablePointer<Int>) {
        self.handle = handle
        self.database = database
        self.path = path
        self.steps = steps
    }

    deinit { mdb_cursor_close(handle) }

    private func move(_ op: MDB_cursor_op, key: UnsafeRawBufferPointer? = nil) throws -> Entry? {
        var keyValue = MDBValue(mv_size: key?.count ?? 0, mv_data: UnsafeMutableRawPointer(mutating: key?.baseAddress))
        var dataValue = MDBValue()
        steps.pointee += 1
        let rc = mdb_cursor_get(handle, &keyValue, &dataValue, op)
        if rc == MDB_NOTFOUND { return nil }
        try check(rc, "mdb_cursor_get", database: database.name, path: path)
        ReadTrace.record(database, key: UnsafeRawBufferPointer(start: keyValue.mv_data, count: keyValue.mv_size))
        return Entry(
            key: UnsafeRawBufferPointer(start: keyValue.mv_data, count: keyValue.mv_size),
            value: UnsafeRawBufferPointer(start: dataValue.mv_data, count: dataValue.mv_size))
    }

    /// Moves to the first entry.
    package func first() throws -> Entry? { try move(MDB_FIRST) }
    /// Moves to the last entry.
    package func last() throws -> Entry? { try move(MDB_LAST) }
    /// Moves to the next entry.
    package func next() throws -> Entry? { try move(MDB_NEXT) }
    /// Moves to the previous entry.
    package func previous() throws -> Entry? { try move(MDB_PREV) }
    /// The entry under the cursor.
    package func current() throws -> Entry? { try move(MDB_GET_CURRENT) }

    /// Moves to the first entry whose key is at least `key` (`MDB_SET_RANGE`).
    /// Every key is at least the empty key, so that moves to the first entry
    /// (LMDB itself refuses an empty key with `MDB_BAD_VALSIZE`).
    package func seek(atLeast key: some RawBytes) throws -> Entry? {
        try key.withUnsafeBytes { bytes in
            bytes.isEmpty ? try first() : try move(MDB_SET_RANGE, key: bytes)
        }
    }

    /// Moves to the entry whose key is exactly `key` (`MDB_SET_KEY`).
    package func seek(exactly key: some RawBytes) throws -> Entry? {
        try key.withUnsafeBytes { try move(MDB_SET_KEY, key: $0) }
    }

    /// Moves to the last entry whose key is below `key`, or to the last entry
    /// when `key` is nil.
    package func seek(below key: (some RawBytes)?) throws -> Entry? {
        guard let key else { return try last() }
        if try seek(atLeast: key) != nil { return try previous() }
        return try last()
    }

    func positionAtOrAfter(_ key: [UInt8]?) throws -> Entry? {
        guard let key else { return try first() }
        return try seek(atLeast: key)
    }

    func positionBefore(_ key: [UInt8]?) throws -> Entry? {
        try seek(below: key)
    }

    /// Deletes the entry under the cursor; the next `next()` returns the
    /// entry after it, the next `previous()` the entry before it. Needs a
    /// write transaction: in a read transaction it throws `readOnly`.
    ///
    /// The corresponding C function is `mdb_cursor_del`.
    package func deleteCurrent() throws {
        let rc = mdb_cursor_del(handle, 0)
        if rc == LMDBError.Code.permissionDenied.rawValue {
            // LMDB's answer to a write in a read-only transaction.
            throw LMDBError(
                .readOnly, operation: "mdb_cursor_del", database: database.name, path: path,
                message: "deleting at a cursor needs a write transaction")
        }
        try check(rc, "mdb_cursor_del", database: database.name, path: path)
    }
}
