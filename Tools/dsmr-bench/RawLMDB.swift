import CLMDB

/// A failure of a raw LMDB call.
struct RawLMDBError: Error, CustomStringConvertible {
    let code: Int32
    let operation: String
    var description: String { "\(operation): \(String(cString: mdb_strerror(code)))" }
}

@inline(__always)
private func check(_ code: Int32, _ operation: @autoclosure () -> String) throws {
    if code != MDB_SUCCESS { throw RawLMDBError(code: code, operation: operation()) }
}

/// One key and value as the raw baseline writes them.
struct RawRecord: Sendable {
    let key: [UInt8]
    let value: [UInt8]
}

/// The baseline: LMDB through its C API and nothing else — one unnamed
/// database, no indexes, no checks. Opened with the flags the store's
/// environment uses (`MDB_NOTLS`, plus `MDB_NOSYNC` only where the store
/// under comparison is not synced either) and the same map size.
///
/// `@unchecked Sendable`: used from one task at a time; write transactions
/// begin and commit within one call.
final class RawEnvironment: @unchecked Sendable {
    let path: String
    private let env: OpaquePointer
    private let dbi: MDB_dbi
    private var reader: OpaquePointer?
    private var closed = false

    init(path: String, mapSize: Int, synced: Bool = true) throws {
        self.path = path
        var env: OpaquePointer?
        try check(mdb_env_create(&env), "mdb_env_create")
        guard let env else { throw RawLMDBError(code: invalidArgumentCode, operation: "mdb_env_create") }
        do {
            try check(mdb_env_set_mapsize(env, mapSize), "mdb_env_set_mapsize")
            var flags = UInt32(MDB_NOTLS)
            if !synced { flags |= UInt32(MDB_NOSYNC) }
            try check(mdb_env_open(env, path, flags, 0o600), "mdb_env_open \(path)")
            var txn: OpaquePointer?
            try check(mdb_txn_begin(env, nil, 0, &txn), "mdb_txn_begin")
            var dbi = MDB_dbi()
            try check(mdb_dbi_open(txn, nil, 0, &dbi), "mdb_dbi_open")
            try check(mdb_txn_commit(txn), "mdb_txn_commit")
            self.dbi = dbi
        } catch {
            mdb_env_close(env)
            throw error
        }
        self.env = env
    }

    deinit { close() }

    func close() {
        if closed { return }
        closed = true
        if let reader { mdb_txn_abort(reader) }
        mdb_env_close(env)
    }

    /// Writes `records` in transactions of `batch` puts each, one commit
    /// (synced unless opened otherwise) per transaction.
    func put(_ records: ArraySlice<RawRecord>, batch: Int) throws {
        var index = records.startIndex
        while index < records.endIndex {
            let end = min(index + batch, records.endIndex)
            var txn: OpaquePointer?
            try check(mdb_txn_begin(env, nil, 0, &txn), "mdb_txn_begin")
            do {
                for record in records[index..<end] {
                    try record.key.withUnsafeBytes { key in
                        try record.value.withUnsafeBytes { value in
                            var k = MDB_val(
                                mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
                            var v = MDB_val(
                                mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
                            try check(mdb_put(txn, dbi, &k, &v, 0), "mdb_put")
                        }
                    }
                }
            } catch {
                mdb_txn_abort(txn)
                throw error
            }
            try check(mdb_txn_commit(txn), "mdb_txn_commit")
            index = end
        }
    }

    /// Flushes everything to disk.
    func sync() throws {
        try check(mdb_env_sync(env, 1), "mdb_env_sync")
    }

    /// One read transaction per get (a kept handle, `mdb_txn_renew` /
    /// `mdb_txn_reset`: LMDB's fastest way), `mdb_get`, and a copy of the value
    /// from byte `skip` on into a new array. Returns the copy, or nil.
    func get(_ key: [UInt8], skip: Int) throws -> [UInt8]? {
        let txn = try renewReader()
        defer { mdb_txn_reset(txn) }
        var data = MDB_val()
        let rc = key.withUnsafeBytes { key in
            var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
            return mdb_get(txn, dbi, &k, &data)
        }
        if rc == MDB_NOTFOUND { return nil }
        try check(rc, "mdb_get")
        let count = data.mv_size - skip
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            buffer.baseAddress!.update(
                from: data.mv_data.advanced(by: skip).assumingMemoryBound(to: UInt8.self), count: count)
            initialized = count
        }
    }

    /// One read transaction: a cursor from the first key at or after `from`
    /// over `limit` rows whose value starts with `status`, each value copied
    /// into a new array (what a gather must do before decoding). Returns the
    /// copies.
    func scan(from: [UInt8], limit: Int, status: UInt8) throws -> [[UInt8]] {
        let txn = try renewReader()
        defer { mdb_txn_reset(txn) }
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(txn, dbi, &cursor), "mdb_cursor_open")
        defer { mdb_cursor_close(cursor) }
        var found: [[UInt8]] = []
        found.reserveCapacity(limit)
        var key = MDB_val()
        var data = MDB_val()
        var rc = from.withUnsafeBytes { bytes in
            key = MDB_val(mv_size: bytes.count, mv_data: UnsafeMutableRawPointer(mutating: bytes.baseAddress))
            return mdb_cursor_get(cursor, &key, &data, MDB_SET_RANGE)
        }
        while rc == MDB_SUCCESS && found.count < limit {
            let value = UnsafeRawBufferPointer(start: data.mv_data, count: data.mv_size)
            if value.first == status { found.append(Array(value)) }
            rc = mdb_cursor_get(cursor, &key, &data, MDB_NEXT)
        }
        if rc != MDB_SUCCESS && rc != MDB_NOTFOUND { try check(rc, "mdb_cursor_get") }
        return found
    }

    private func renewReader() throws -> OpaquePointer {
        if let reader {
            try check(mdb_txn_renew(reader), "mdb_txn_renew")
            return reader
        }
        var txn: OpaquePointer?
        try check(mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txn), "mdb_txn_begin")
        reader = txn
        return txn!
    }

    /// Opens the existing environment at `path` as the store's open does
    /// (create the handle, set limits, open, clear stale readers, open the
    /// named databases in one transaction), then closes it. Returns the
    /// seconds the open took, close excluded.
    static func timeOpen(path: String, databases: [String]) throws -> Double {
        var env: OpaquePointer?
        defer { if let env { mdb_env_close(env) } }
        return try seconds {
            try check(mdb_env_create(&env), "mdb_env_create")
            try check(mdb_env_set_maxreaders(env, 126), "mdb_env_set_maxreaders")
            try check(mdb_env_set_maxdbs(env, 32), "mdb_env_set_maxdbs")
            try check(mdb_env_set_mapsize(env, 64 << 20), "mdb_env_set_mapsize")
            try check(mdb_env_open(env, path, UInt32(MDB_NOTLS), 0o600), "mdb_env_open \(path)")
            var dead: Int32 = 0
            try check(mdb_reader_check(env, &dead), "mdb_reader_check")
            var txn: OpaquePointer?
            try check(mdb_txn_begin(env, nil, 0, &txn), "mdb_txn_begin")
            for name in databases {
                var dbi = MDB_dbi()
                try check(mdb_dbi_open(txn, name, 0, &dbi), "mdb_dbi_open \(name)")
            }
            try check(mdb_txn_commit(txn), "mdb_txn_commit")
        }
    }
}

private let invalidArgumentCode: Int32 = 22
