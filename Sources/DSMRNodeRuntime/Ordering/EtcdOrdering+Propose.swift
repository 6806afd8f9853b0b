import DSMR
import DSMROrdering

extension EtcdOrdering {
    /// Campaigns for the leadership, proposes while leading, resigns to
    /// rotate, and campaigns again, until cancelled.
    func propose(_ chain: any OrderedChain) async {
        let value = Array(chain.nodeID.hex.utf8)
        while !Task.isCancelled {
            var lease: Int64?
            do {
                let granted = try await client.grantLease(seconds: options.leaseSeconds)
                lease = granted
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await self.keepAlive(lease: granted) }
                    group.addTask {
                        let leader = try await self.campaign(lease: granted, value: value)
                        self.logger.info("leading the etcd election", metadata: ["revision": "\(leader.revision)"])
                        try await self.lead(chain, as: leader)
                        try? await self.client.resign(leader)
                    }
                    // Either ends the leadership: a lost lease, or the leader's turn over.
                    _ = try await group.next()
                    group.cancelAll()
                }
            } catch is CancellationError {
                break
            } catch {
                if Task.isCancelled { break }
                logger.notice("proposing through etcd failed; campaigning again", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(500))
            }
            if let lease { try? await client.revoke(lease: lease) }
        }
    }

    /// Renews `lease` a few times per time to live; throws once it has expired.
    func keepAlive(lease: Int64) async throws {
        let interval = Duration.milliseconds(options.leaseSeconds * 1_000 / 3)
        while true {
            try await Task.sleep(for: interval)
            guard try await client.keepAlive(lease: lease) > 0 else {
                throw EtcdError(.status, "lease \(lease) expired")
            }
        }
    }

    /// Campaigns until elected.
    func campaign(lease: Int64, value: [UInt8]) async throws -> EtcdLeaderKey {
        while true {
            do {
                return try await client.campaign(name: electionName, lease: lease, value: value, wait: .seconds(15))
            } catch let error as EtcdError where error.code == .unreachable {
                try Task.checkCancellation()
            }
        }
    }

    /// Proposes blocks while leading, for at most ``EtcdOrderingOptions/rotateBlocks``
    /// blocks and ``EtcdOrderingOptions/rotateAfter``; returns when the
    /// turn is over or a fenced write was refused.
    func lead(_ chain: any OrderedChain, as leader: EtcdLeaderKey) async throws {
        let started = ContinuousClock.now
        var proposed = 0
        while proposed < options.rotateBlocks, ContinuousClock.now - started < options.rotateAfter {
            guard let block = try await buildOnTip(chain) else {
                try await Task.sleep(for: .milliseconds(20))
                continue
            }
            let key = attemptKey(height: block.height, proposer: chain.nodeID)
            let (created, _) = try await client.createIfAbsent(key, attempt(block), fencedOn: leader)
            guard created else {
                logger.notice("a fenced proposal was refused; following", metadata: ["height": "\(block.height)"])
                return
            }
            proposed += 1
            if options.pruneEvery > 0, block.height % options.pruneEvery == 0, block.height > options.retainHeights {
                await prune(below: block.height - options.retainHeights, chain, fencedOn: leader)
            }
            try await waitForHeight(block.height, within: .seconds(2))
        }
    }

    /// Deletes the log's attempts at heights below `height`, only while
    /// still leading, then compacts etcd's history, so etcd's database
    /// stays bounded. The compaction stops at the oldest create revision
    /// among the attempts kept (and of the attempt that made this node's
    /// block at `height`): a validator whose accepted block is inside the
    /// window still replays the log's history from its block's attempt
    /// (see ``startingPoint(_:)``), so it sees every attempt with its first
    /// value. The deletions themselves stay in etcd's history until a later
    /// round compacts past them. A failure is logged; the next round retries.
    func prune(below height: UInt64, _ chain: any OrderedChain, fencedOn leader: EtcdLeaderKey) async {
        do {
            let (deleted, deletedAt) = try await client.deleteRange(
                from: blocksPrefix, to: heightPrefix(height), fencedOn: leader)
            guard deleted else { return }
            let oldest = try await client.range(
                from: heightPrefix(height), to: EtcdClient.prefixEnd(blocksPrefix), limit: 1, keysOnly: true,
                sortedByCreation: true
            ).keyValues.first
            guard var revision = oldest?.createRevision else { return }
            if let block = try chain.acceptedBlock(at: height),
                let accepted = try await self.revision(of: block, rules: chain.rules)
            {
                revision = min(revision, accepted)
            }
            do {
                try await client.compact(revision: revision)
            } catch let error as EtcdError where error.code == .compacted {
                // An earlier round (or etcd's own compaction) went as far already.
            }
            logger.info(
                "pruned the etcd log and compacted etcd's history",
                metadata: ["below": "\(height)", "deletedAt": "\(deletedAt)", "compactedTo": "\(revision)"])
        } catch {
            logger.notice("pruning the etcd log failed", metadata: ["error": "\(error)"])
        }
    }

    /// A block on the node's accepted block, once the node has been handed
    /// every attempt in the log; nil while it has not, or nothing may be built.
    func buildOnTip(_ chain: any OrderedChain) async throws -> Block? {
        let (through, decided) = progress.withLock { ($0.through, $0.height) }
        // An attempt created since, past the decided height, is still to be handed to the node.
        let newer = try await client.range(
            from: heightPrefix(decided + 1), to: EtcdClient.prefixEnd(blocksPrefix), limit: 1,
            minCreateRevision: through + 1, keysOnly: true)
        guard newer.keyValues.isEmpty else { return nil }
        let tip = chain.lastAccepted
        guard tip.height == decided else { return nil }
        return try chain.buildOrdered(
            timestamp: timestamp(after: tip, rules: chain.rules), maxBytes: options.maxBlockBytes)
    }

    /// Waits until the node accepted a block at `height`, or `limit` passed.
    func waitForHeight(_ height: UInt64, within limit: Duration) async throws {
        let deadline = ContinuousClock.now + limit
        while progress.withLock({ $0.height }) < height, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// A new attempt's key at `height`: the proposer's id and a random part, so no two collide.
    func attemptKey(height: UInt64, proposer: NodeID) -> [UInt8] {
        let random = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        return heightPrefix(height) + Array("\(proposer.hex.prefix(16))-\(random)".utf8)
    }

    /// Publishes an attempt unfenced when no block has been accepted for
    /// ``EtcdOrderingOptions/takeoverAfter`` (plus a quarter second per
    /// place in the validator list), until cancelled.
    func takeOver(_ chain: any OrderedChain) async {
        let wait = options.takeoverAfter + .milliseconds(250 * chain.validatorIndex)
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(100))
            guard ContinuousClock.now - progress.withLock({ $0.lastAccepted }) >= wait else { continue }
            do {
                guard let block = try await buildOnTip(chain) else { continue }
                let key = attemptKey(height: block.height, proposer: chain.nodeID)
                let (created, revision) = try await client.createIfAbsent(key, attempt(block))
                logger.notice(
                    "no block for a while: published a takeover attempt",
                    metadata: ["height": "\(block.height)", "created": "\(created)", "revision": "\(revision)"])
                // The next takeover waits as long again.
                progress.withLock { $0.lastAccepted = .now }
            } catch {
                logger.notice("a takeover attempt failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
