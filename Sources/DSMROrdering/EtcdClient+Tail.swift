extension EtcdClient {
    /// How many keys one read of ``tail(prefix:after:batch:watchFor:pause:compacted:deliver:)`` takes.
    public static let tailBatch: Int64 = 64

    /// Follows the keys created under `prefix` after revision `after`, in
    /// create-revision order, each with the value it was created with,
    /// until cancelled or `deliver` throws.
    ///
    /// Replays etcd's history with a watch from the revision after the last
    /// one delivered (a watch from a past revision reports every change
    /// since) and keeps only creations (a put whose create revision is its
    /// own revision): a key changed or deleted after it was created is
    /// delivered once, with its first value, whether the tail watched it
    /// live or replays it later. A watch that ends, and a member that
    /// fails, lead to watching again from the last revision delivered.
    ///
    /// Only when that revision was compacted away (or a batch of history
    /// does not fit one watch line) does the tail read the keys instead,
    /// sorted by create revision in batches of `batch`, taking each changed
    /// key's value at its create revision where etcd still holds it; it
    /// calls `compacted` with etcd's compaction revision first. Such a read
    /// misses keys deleted before it, and gives a changed key whose first
    /// value was compacted its current value.
    ///
    /// `deliver` gets each batch with the revision through which every key
    /// created under `prefix` has now been delivered.
    public func tail(
        prefix: [UInt8], after revision: Int64, batch: Int64 = EtcdClient.tailBatch,
        watchFor: Duration = .seconds(10), pause: Duration = .milliseconds(200),
        compacted: (_ compactRevision: Int64?) -> Void = { _ in },
        deliver: ([EtcdKeyValue], _ through: Int64) async throws -> Void
    ) async throws {
        var through = revision
        while true {
            try Task.checkCancellation()
            do {
                try await watch(prefix: prefix, from: through + 1, for: watchFor) { events, revision in
                    let created = events.filter {
                        $0.kind == .put && $0.keyValue.createRevision == $0.keyValue.modRevision
                            && $0.keyValue.createRevision > through
                    }.map(\.keyValue)
                    // etcd replays at most 1000 revisions at once, each batch naming the store's
                    // revision: only a batch's last event says how far it is complete.
                    let reached = max(through, events.last?.keyValue.modRevision ?? revision)
                    try await deliver(created, reached)
                    through = reached
                }
            } catch let error as EtcdError where error.compactRevision != nil || error.code == .malformed {
                compacted(error.compactRevision)
                do {
                    through = try await readCreated(prefix: prefix, after: through, batch: batch, deliver: deliver)
                } catch is EtcdError {
                    try await Task.sleep(for: pause)
                }
            } catch is EtcdError {
                try await Task.sleep(for: pause)
            }
        }
    }

    /// Delivers the keys under `prefix` created after `revision`, read
    /// sorted by create revision in batches of `batch`, each changed key
    /// with its value at its create revision while etcd holds it; returns
    /// the revision through which every key was delivered.
    func readCreated(
        prefix: [UInt8], after revision: Int64, batch: Int64,
        deliver: ([EtcdKeyValue], _ through: Int64) async throws -> Void
    ) async throws -> Int64 {
        var through = revision
        while true {
            let read = try await rangeByCreation(prefix: prefix, minCreateRevision: through + 1, limit: batch)
            var keyValues = read.keyValues
            for index in keyValues.indices where keyValues[index].modRevision != keyValues[index].createRevision {
                if let first = try await firstValue(of: keyValues[index]) { keyValues[index] = first }
            }
            let last = keyValues.last?.createRevision ?? through
            let complete = !read.more
            let reached = complete ? max(read.revision, last) : last
            try await deliver(keyValues, reached)
            through = reached
            if complete { return through }
        }
    }

    /// `keyValue` as it was created: nil when etcd compacted that revision
    /// away, or no longer holds it as the same key's creation.
    public func firstValue(of keyValue: EtcdKeyValue) async throws -> EtcdKeyValue? {
        guard keyValue.modRevision != keyValue.createRevision else { return keyValue }
        do {
            let read = try await range(
                from: keyValue.key, to: keyValue.key + [0], revision: keyValue.createRevision)
            return read.keyValues.first { $0.createRevision == keyValue.createRevision }
        } catch let error as EtcdError where error.code == .compacted {
            return nil
        }
    }

    /// Keys under `prefix` with a create revision of at least
    /// `minCreateRevision`, sorted by create revision, at most `limit`.
    func rangeByCreation(prefix: [UInt8], minCreateRevision: Int64, limit: Int64) async throws -> EtcdRange {
        try await range(from: prefix, limit: limit, minCreateRevision: minCreateRevision, sortedByCreation: true)
    }
}
