import CLMDB

extension WriteTransaction {
    /// Stores `value` under `key`, replacing what was there unless `flags`
    /// says otherwise. Keys must be 1 to `Environment.maxKeySize` bytes, or
    /// the call fails with `badValueSize`.
    ///
    /// The corresponding C function is `mdb_put`.
    package func put(
        _ value: some RawBytes, forKey key: some RawBytes, in database: Database,
        flags: PutFlags = []
    ) throws {
        try injectFault("mdb_put", database)
        let rc = key.withValue { keyValue in
            value.withValue { dataValue in
                mdb_put(unsafeHandle, database.handle, &keyValue, &dataValue, flags.rawValue)
            }
        }
        try checkWrite(rc, "mdb_put", database)
    }

    /// Reserves `count` bytes under `key` and lets `fill` write the value in
    /// place, saving a copy for large values (`MDB_RESERVE`). `fill` must
    /// write every byte.
    package func put(
        reserving count: Int, forKey key: some RawBytes, in database: Database,
        flags: PutFlags = [], fill: (UnsafeMutableRawBufferPointer) throws -> Void
    ) throws {
        try injectFault("mdb_put", database)
        var data = MDBValue(mv_size: count, mv_data: nil)
        let rc = key.withValue { keyValue in
            mdb_put(unsafeHandle, database.handle, &keyValue, &data, flags.rawValue | UInt32(MDB_RESERVE))
        }
        try checkWrite(rc, "mdb_put", database)
        try fill(UnsafeMutableRawBufferPointer(start: data.mv_data, count: count))
    }

    /// Deletes `key`; returns whether it was present.
    ///
    /// The corresponding C function is `mdb_del`.
    @discardableResult
    package func delete(_ key: some RawBytes, in database: Database) throws -> Bool {
        try injectFault("mdb_del", database)
        let rc = key.withValue { keyValue in mdb_del(unsafeHandle, database.handle, &keyValue, nil) }
        if rc == MDB_NOTFOUND { return false }
        try checkWrite(rc, "mdb_del", database)
        return true
    }

    /// Deletes every entry of `database`, keeping the database itself.
    ///
    /// The corresponding C function is `mdb_drop` (with `del` = 0).
    package func clear(_ database: Database) throws {
        try checkWrite(mdb_drop(unsafeHandle, database.handle, 0), "mdb_drop", database)
    }
}
