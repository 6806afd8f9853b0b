import Foundation

extension EtcdClient {
    /// Reads the keys in `[key, end)` (every key starting with `key` when
    /// `end` is nil), in key order, at most `limit` (0: all), with a create
    /// revision of at least `minCreateRevision` when given; without their
    /// values when `keysOnly`; as they were at `revision` when not 0;
    /// sorted by create revision instead when `sortedByCreation`.
    ///
    /// etcd counts the keys in the range before the revision filter: with
    /// `minCreateRevision`, ``EtcdRange/count`` includes older keys, while
    /// ``EtcdRange/keyValues`` and ``EtcdRange/more`` are filtered.
    ///
    /// - Throws: ``EtcdError/Code/compacted`` when `revision` was compacted away.
    ///
    /// The corresponding gateway call is `/v3/kv/range`.
    public func range(
        from key: [UInt8], to end: [UInt8]? = nil, limit: Int64 = 0, minCreateRevision: Int64 = 0,
        keysOnly: Bool = false, countOnly: Bool = false, revision: Int64 = 0, sortedByCreation: Bool = false
    ) async throws -> EtcdRange {
        var body: [String: Any] = [
            "key": EtcdWire.base64(key), "range_end": EtcdWire.base64(end ?? Self.prefixEnd(key)),
        ]
        if limit > 0 { body["limit"] = String(limit) }
        if minCreateRevision > 0 { body["min_create_revision"] = String(minCreateRevision) }
        if keysOnly { body["keys_only"] = true }
        if countOnly { body["count_only"] = true }
        if revision > 0 { body["revision"] = String(revision) }
        if sortedByCreation {
            body["sort_order"] = "ASCEND"
            body["sort_target"] = "CREATE"
        }
        let data = try await call("/v3/kv/range", body)
        return try EtcdWire.range(
            EtcdWire.decode(EtcdWire.RangeResponse.self, data, operation: "range"), operation: "range")
    }

    /// Writes `value` at `key` (on `lease` when not 0) and returns the revision of the write.
    ///
    /// The corresponding gateway call is `/v3/kv/put`.
    @discardableResult
    public func put(_ key: [UInt8], _ value: [UInt8], lease: Int64 = 0) async throws -> Int64 {
        var body: [String: Any] = ["key": EtcdWire.base64(key), "value": EtcdWire.base64(value)]
        if lease != 0 { body["lease"] = String(lease) }
        let data = try await call("/v3/kv/put", body)
        let response = try EtcdWire.decode(EtcdWire.PutResponse.self, data, operation: "put")
        return try EtcdWire.int64(response.header?.revision, "revision", operation: "put")
    }

    /// Writes `value` at `key` only if `key` does not exist and, when
    /// `fence` is given, only while the leader key it names still exists
    /// with its create revision. Returns whether it wrote, and the store's
    /// revision after the transaction.
    ///
    /// Exactly one of many concurrent calls on the same absent key wins.
    /// A call retried after a lost answer may report `false` for a write its
    /// first try made. The corresponding gateway call is `/v3/kv/txn`.
    public func createIfAbsent(
        _ key: [UInt8], _ value: [UInt8], fencedOn fence: EtcdLeaderKey? = nil
    ) async throws -> (created: Bool, revision: Int64) {
        let absent: [String: Any] = [
            "key": EtcdWire.base64(key), "target": "CREATE", "result": "EQUAL", "create_revision": "0",
        ]
        return try await transaction(
            compare: [absent] + fenceComparison(fence),
            success: ["request_put": ["key": EtcdWire.base64(key), "value": EtcdWire.base64(value)]])
    }

    /// Deletes the keys in `[key, end)`, when `fence` is given only while
    /// the leader key it names still exists with its create revision.
    /// Returns whether it deleted (false: the fence failed), and the store's
    /// revision after the transaction.
    ///
    /// The corresponding gateway call is `/v3/kv/txn`.
    public func deleteRange(
        from key: [UInt8], to end: [UInt8], fencedOn fence: EtcdLeaderKey? = nil
    ) async throws -> (deleted: Bool, revision: Int64) {
        try await transaction(
            compare: fenceComparison(fence),
            success: ["request_delete_range": ["key": EtcdWire.base64(key), "range_end": EtcdWire.base64(end)]])
    }

    /// The comparison that holds while `fence`'s leader key still exists
    /// with its create revision; none without a fence.
    func fenceComparison(_ fence: EtcdLeaderKey?) -> [[String: Any]] {
        guard let fence else { return [] }
        return [
            [
                "key": EtcdWire.base64(fence.key), "target": "CREATE", "result": "EQUAL",
                "create_revision": String(fence.revision),
            ]
        ]
    }

    /// Runs `success` when every comparison in `compare` holds; returns
    /// whether it ran and the store's revision after the transaction.
    func transaction(compare: [[String: Any]], success: [String: Any]) async throws -> (Bool, Int64) {
        let data = try await call("/v3/kv/txn", ["compare": compare, "success": [success]])
        let response = try EtcdWire.decode(EtcdWire.TxnResponse.self, data, operation: "txn")
        return (
            response.succeeded ?? false, try EtcdWire.int64(response.header?.revision, "revision", operation: "txn")
        )
    }

    /// Compacts etcd's history up to `revision`: watches and reads from
    /// older revisions are refused afterwards (with
    /// ``EtcdError/Code/compacted``), and the space of the values they
    /// held is freed for reuse.
    ///
    /// - Throws: ``EtcdError/Code/compacted`` when the history was already
    ///   compacted through `revision`.
    ///
    /// The corresponding gateway call is `/v3/kv/compaction`.
    public func compact(revision: Int64) async throws {
        _ = try await call("/v3/kv/compaction", ["revision": String(revision), "physical": true])
    }

    /// The end of the range of every key starting with `prefix`: `prefix`
    /// with its last byte below 0xff incremented (and what follows it
    /// dropped); `[0]`, every key, when there is none.
    public static func prefixEnd(_ prefix: [UInt8]) -> [UInt8] {
        var end = prefix
        while let last = end.last {
            if last < 0xff {
                end[end.count - 1] = last + 1
                return end
            }
            end.removeLast()
        }
        return [0]
    }
}
