import LMDB

/// What every store transaction can do: read the store's tables, typed.
///
/// `StoreReader` (a snapshot) and `StoreWriter` (the writer's transaction)
/// conform, so engine code that only reads takes
/// `borrowing some StoreTransaction & ~Copyable` and works in both, as heed's
/// write transaction derefs to its read transaction. Both are views over an
/// LMDB transaction lent to a closure: non-copyable, they cannot outlive it.
package protocol StoreTransaction: LMDB.Transaction, ~Copyable {
    /// The store's tables.
    var tables: Tables { get }
}

extension StoreTransaction where Self: ~Copyable {
    /// The decoded value under `key`, or nil; a malformed value throws
    /// `corruptRecord`.
    package func get<Key, Value>(_ table: Table<Key, Value>, _ key: Key) throws -> Value? {
        try withValue(forKey: key.encoded, in: table.database) { try table.value($0) }
    }

    /// Lends the raw value under `key` to `body` without copying, or returns
    /// nil. For values read straight from the map (chunk bytes).
    package func withRawValue<Key, Value, R>(
        _ table: Table<Key, Value>, _ key: Key, _ body: (UnsafeRawBufferPointer) throws -> R
    ) throws -> R? {
        try withValue(forKey: key.encoded, in: table.database, body)
    }

    /// Whether `key` is present.
    package func contains<Key, Value>(_ table: Table<Key, Value>, _ key: Key) throws -> Bool {
        try contains(key.encoded, in: table.database)
    }

    /// Visits the rows of `table` in `range`; each entry decodes (and checks)
    /// its key and value on demand.
    @discardableResult
    package func scan<Key, Value>(
        _ table: Table<Key, Value>, in range: KeyRange = .all, reverse: Bool = false,
        _ body: (TableEntry<Key, Value>) throws -> ScanAction
    ) throws -> Int {
        try scan(table.database, in: range, reverse: reverse) { entry in
            try body(TableEntry(table: table, raw: entry))
        }
    }

    /// The decoded key of the first (or, with `last`, the last) row of
    /// `table`, or nil when it is empty; a malformed key throws.
    package func edgeKey<Key, Value>(_ table: Table<Key, Value>, last: Bool) throws -> Key? {
        try withCursor(on: table.database) { cursor in
            try (last ? cursor.last() : cursor.first()).map { try table.key($0.key) }
        }
    }

    /// The rows in `table`.
    package func count<Key, Value>(_ table: Table<Key, Value>) throws -> Int {
        try count(of: table.database)
    }
}

/// A read snapshot of the store: `ChunkStore.snapshot { r in … }`.
package struct StoreReader: StoreTransaction, ~Copyable {
    package let unsafeHandle: OpaquePointer
    package let environment: Environment
    package let tables: Tables

    package init(_ txn: borrowing ReadTransaction, tables: Tables) {
        unsafeHandle = txn.unsafeHandle
        environment = txn.environment
        self.tables = tables
    }
}

/// The writer's transaction: every read of `StoreTransaction` and the typed
/// writes. Lent by `ChunkStore.submit { w in … }` on the writer thread.
package struct StoreWriter: StoreTransaction, ~Copyable {
    private let txn: UnsafePointer<WriteTransaction>
    package let tables: Tables

    package var unsafeHandle: OpaquePointer { txn.pointee.unsafeHandle }
    package var environment: Environment { txn.pointee.environment }

    /// Lends a writer over `txn` to `body`.
    package static func with<R>(
        _ txn: borrowing WriteTransaction, tables: Tables, _ body: (borrowing StoreWriter) throws -> R
    ) throws -> R {
        try withUnsafePointer(to: txn) { pointer in
            try body(StoreWriter(txn: pointer, tables: tables))
        }
    }

    private init(txn: UnsafePointer<WriteTransaction>, tables: Tables) {
        self.txn = txn
        self.tables = tables
    }

    /// Stores `value` under `key`, replacing any value.
    package func put<Key, Value>(_ table: Table<Key, Value>, _ key: Key, _ value: Value) throws {
        try txn.pointee.put(value.encoded, forKey: key.encoded, in: table.database)
    }

    /// Reserves `size` bytes under `key` and lets `body` write them in place.
    package func put<Key, Value>(
        _ table: Table<Key, Value>, _ key: Key, reserving size: Int,
        _ body: (UnsafeMutableRawBufferPointer) throws -> Void
    ) throws {
        try txn.pointee.put(reserving: size, forKey: key.encoded, in: table.database, fill: body)
    }

    /// Deletes the row under `key`; returns whether there was one.
    @discardableResult
    package func delete<Key, Value>(_ table: Table<Key, Value>, _ key: Key) throws -> Bool {
        try txn.pointee.delete(key.encoded, in: table.database)
    }

    /// Deletes the row under the raw `key` as stored (for rows whose key does
    /// not decode).
    @discardableResult
    package func delete<Key, Value>(_ table: Table<Key, Value>, rawKey key: UnsafeRawBufferPointer) throws -> Bool {
        try txn.pointee.delete(Array(key), in: table.database)
    }

    /// Stores `value` under the raw `key` as stored.
    package func put<Key, Value>(_ table: Table<Key, Value>, rawKey key: UnsafeRawBufferPointer, _ value: Value) throws
    {
        try txn.pointee.put(value.encoded, forKey: Array(key), in: table.database)
    }

    /// Stores raw bytes under a raw key in `database`, as read from another
    /// store (salvage copies rows it has checked).
    package func putRaw(_ database: Database, key: [UInt8], value: [UInt8]) throws {
        try txn.pointee.put(value, forKey: key, in: database)
    }

    /// Deletes every row of `table`.
    package func clear<Key, Value>(_ table: Table<Key, Value>) throws {
        try txn.pointee.clear(table.database)
    }

    /// Runs `body` in a nested transaction that is always rolled back and
    /// returns what it computed: the store is left as it was.
    package func rolledBack<R>(_ body: (borrowing StoreWriter) throws -> R) throws -> R {
        var result: R?
        do {
            try txn.pointee.nested { child in
                result = try StoreWriter.with(child, tables: tables, body)
                throw RolledBack()
            }
        } catch is RolledBack {}
        return result!
    }
}

/// Thrown to roll back a nested transaction whose work was only measured.
private struct RolledBack: Error {}
