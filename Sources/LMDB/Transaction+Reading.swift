import CLMDB

extension Transaction where Self: ~Copyable {
    /// Lends the value stored under `key` to `body` without copying it, or
    /// returns nil when there is none. The buffer points into the memory map
    /// and is valid only inside `body`.
    ///
    /// The corresponding C function is `mdb_get`.
    package func withValue<R>(
        forKey key: some RawBytes, in database: Database,
        _ body: (UnsafeRawBufferPointer) throws -> R
    ) throws -> R? {
        var data = MDBValue()
        let rc = key.withValue { keyValue in
            ReadTrace.record(
                database, key: UnsafeRawBufferPointer(start: keyValue.mv_data, count: keyValue.mv_size), lookingUp: true
            )
            return mdb_get(unsafeHandle, database.handle, &keyValue, &data)
        }
        if rc == MDB_NOTFOUND { return nil }
        try check(rc, "mdb_get", database: database.name, path: environment.path)
        return try body(UnsafeRawBufferPointer(start: data.mv_data, count: data.mv_size))
    }

    /// A copy of the value stored under `key`, or nil.
    package func get(_ key: some RawBytes, in database: Database) throws -> [UInt8]? {
        try withValue(forKey: key, in: database) { Array($0) }
    }

    /// Whether `key` is present.
    package func contains(_ key: some RawBytes, in database: Database) throws -> Bool {
        try withValue(forKey: key, in: database) { _ in true } ?? false
    }

    /// Statistics of `database` as this transaction sees it.
    ///
    /// The corresponding C function is `mdb_stat`.
    package func statistics(of database: Database) throws -> DatabaseStatistics {
        var stat = MDB_stat()
        try check(
            mdb_stat(unsafeHandle, database.handle, &stat), "mdb_stat", database: database.name, path: environment.path)
        return DatabaseStatistics(stat)
    }

    /// The number of entries in `database`.
    package func count(of database: Database) throws -> Int {
        try statistics(of: database).entries
    }

    /// Lends a cursor over `database` to `body`; it is closed when `body`
    /// returns.
    ///
    /// The corresponding C function is `mdb_cursor_open`.
    package func withCursor<R>(
        on database: Database, _ body: (borrowing Cursor) throws -> R
    ) throws -> R {
        var raw: OpaquePointer?
        try check(
            mdb_cursor_open(unsafeHandle, database.handle, &raw), "mdb_cursor_open",
            database: database.name, path: environment.path)
        guard let raw else { preconditionFailure("mdb_cursor_open returned no cursor") }
        ReadTrace.record(database, key: UnsafeRawBufferPointer(start: nil, count: 0))
        var steps = 0
        defer { environment.cursorStepCount.add(steps, ordering: .relaxed) }
        return try withUnsafeMutablePointer(to: &steps) { counter in
            let cursor = Cursor(handle: raw, database: database, path: environment.path, steps: counter)
            return try body(cursor)
        }
    }

    /// Visits the entries of `database` whose keys lie in `range`, in key
    /// order or, with `reverse`, from the largest down. `body` decides after
    /// each entry whether to go on, stop, or delete the entry and go on
    /// (deleting needs a write transaction). Returns the number of entries
    /// visited.
    @discardableResult
    package func scan(
        _ database: Database, in range: KeyRange = .all, reverse: Bool = false,
        _ body: (Entry) throws -> ScanAction
    ) throws -> Int {
        try withCursor(on: database) { cursor in
            var visited = 0
            var entry = try reverse ? cursor.positionBefore(range.upper) : cursor.positionAtOrAfter(range.lower)
            while let current = entry, range.contains(current.key) {
                visited += 1
                switch try body(current) {
                case .next:
                    break
                case .stop:
                    return visited
                case .delete:
                    try cursor.deleteCurrent()
                }
                entry = try reverse ? cursor.previous() : cursor.next()
            }
            return visited
        }
    }
}

/// What a `scan` does after an entry.
package enum ScanAction: Sendable {
    /// Go on to the next entry.
    case next
    /// Stop the scan.
    case stop
    /// Delete this entry, then go on (write transactions only).
    case delete
}
