extension EtcdClient {
    /// How many keys one read of ``tail(prefix:after:batch:watchFor:pause:deliver:)`` takes.
    public static let tailBatch: Int64 = 64

    /// Follows the keys created under `prefix` after revision `after`, in
    /// create-revision order, until cancelled or `deliver` throws.
    ///
    /// Reads the keys created since (sorted by create revision, in batches
    /// of `batch`), then watches from the revision read; a watch that ends
    /// or is compacted away, and a member that fails, lead to reading again
    /// from the last revision delivered, so each key is delivered once and
    /// none is missed while keys are not deleted. Changes to keys that
    /// already existed, and deletions, are not delivered.
    ///
    /// `deliver` gets each batch with the revision through which every key
    /// created under `prefix` has now been delivered.
    public func tail(
        prefix: [UInt8], after revision: Int64, batch: Int64 = EtcdClient.tailBatch,
        watchFor: Duration = .seconds(10), pause: Duration = .milliseconds(200),
        deliver: ([EtcdKeyValue], _ through: Int64) async throws -> Void
    ) async throws {
        var through = revision
        while true {
            try Task.checkCancellation()
            do {
                // Read what was created since `through`, oldest first.
                while true {
                    let read = try await rangeByCreation(prefix: prefix, minCreateRevision: through + 1, limit: batch)
                    let last = read.keyValues.last?.createRevision ?? through
                    let complete = !read.more
                    let reached = complete ? max(read.revision, last) : last
                    try await deliver(read.keyValues, reached)
                    through = reached
                    if complete { break }
                }
                try await watch(prefix: prefix, from: through + 1, for: watchFor) { events, revision in
                    let created = events.filter {
                        $0.kind == .put && $0.keyValue.createRevision == $0.keyValue.modRevision
                            && $0.keyValue.createRevision > through
                    }.map(\.keyValue)
                    let reached = max(revision, created.last?.createRevision ?? through)
                    try await deliver(created, reached)
                    through = reached
                }
            } catch is EtcdError {
                // Read again from `through` after a pause (a compacted watch needs nothing more).
                try await Task.sleep(for: pause)
            }
        }
    }

    /// Keys under `prefix` with a create revision of at least
    /// `minCreateRevision`, sorted by create revision, at most `limit`.
    func rangeByCreation(prefix: [UInt8], minCreateRevision: Int64, limit: Int64) async throws -> EtcdRange {
        let body: [String: Any] = [
            "key": EtcdWire.base64(prefix), "range_end": EtcdWire.base64(Self.prefixEnd(prefix)),
            "limit": String(limit), "min_create_revision": String(minCreateRevision), "sort_order": "ASCEND",
            "sort_target": "CREATE",
        ]
        let data = try await call("/v3/kv/range", body)
        return try EtcdWire.range(
            EtcdWire.decode(EtcdWire.RangeResponse.self, data, operation: "range"), operation: "range")
    }
}
