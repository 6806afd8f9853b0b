import DSMR
import DSMROrdering
import Logging
import Metrics

extension EtcdOrdering {
    /// Hands the log's attempts to the node in create-revision order, each
    /// with the value it was created with, from the node's accepted block
    /// on, until cancelled. A failure of etcd or of the node starts over
    /// from the node's accepted block after a pause.
    func follow(_ chain: any OrderedChain) async {
        while !Task.isCancelled {
            do {
                let (height, start) = try await startingPoint(chain)
                progress.withLock {
                    $0.height = height
                    $0.through = start
                }
                try await client.tail(
                    prefix: blocksPrefix, after: start, compacted: { logCompacted(from: start, $0) }
                ) { entries, through in
                    for entry in entries { try await handle(entry, chain) }
                    progress.withLock { $0.through = max($0.through, through) }
                }
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                logger.warning("following the etcd log failed; starting over", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    /// Says that the log's history from `start` was compacted away (or
    /// came in too large a batch) and the attempts are read as they are now.
    func logCompacted(from start: Int64, _ revision: Int64?) {
        logger.warning(
            "the etcd log's history was compacted (or too large to watch): reading the attempts as they are now, which misses attempts deleted before",
            metadata: ["from": "\(start)", "compacted": "\(revision.map(String.init) ?? "unknown")"])
    }

    /// How many accepted heights below the tip ``startingPoint(_:)`` looks
    /// at for an attempt that made the block.
    static let startSearchHeights: UInt64 = 64

    /// The height and revision to follow the log from: the node's accepted
    /// block and the create revision of the attempt that made it the block.
    /// When that attempt is gone from the log (deleted, or changed and its
    /// first value compacted away), the highest accepted block below it
    /// whose attempt is found (within ``startSearchHeights``), whose later
    /// attempts are handed again (the node accepts a block it already has
    /// and refuses another at that height); the tip and revision 0 when
    /// none is.
    func startingPoint(_ chain: any OrderedChain) async throws -> (height: UInt64, revision: Int64) {
        let tip = chain.lastAccepted
        var height = tip.height
        while height > 0, tip.height - height < Self.startSearchHeights {
            guard let block = height == tip.height ? tip : try chain.acceptedBlock(at: height) else { break }
            if let revision = try await revision(of: block, rules: chain.rules) {
                if height < tip.height {
                    logger.warning(
                        "the accepted block's attempt is not in the etcd log; following from a block below it",
                        metadata: ["height": "\(tip.height)", "from": "\(height)"])
                }
                return (height, revision)
            }
            height -= 1
        }
        guard height == 0 else {
            logger.warning(
                "the accepted block's attempt is not in the etcd log; following from the log's start",
                metadata: ["height": "\(tip.height)"])
            return (tip.height, 0)
        }
        return (0, 0)
    }

    /// The create revision of the attempt that made `block` the block at
    /// its height, judged by each attempt's first value (a value written
    /// over it later does not count): attempts at the next height created
    /// before it were skipped by every validator that followed the log, and
    /// are skipped again. Nil when no attempt at its height was created
    /// holding it (or its first value was compacted away).
    func revision(of block: Block, rules: Rules) async throws -> Int64? {
        let read = try await client.range(from: heightPrefix(block.height))
        var found: Int64?
        for entry in read.keyValues {
            guard let first = try await client.firstValue(of: entry),
                (try? signedBlock(first.value, rules: rules))?.block.id == block.id
            else { continue }
            found = min(found ?? .max, first.createRevision)
        }
        return found
    }

    /// Decides one attempt: the block at its height when it is the next
    /// height and verifies against the accepted block; skipped otherwise.
    func handle(_ entry: EtcdKeyValue, _ chain: any OrderedChain) async throws {
        let decided = progress.withLock { $0.height }
        let metadata: Logger.Metadata = ["key": "\(entry.keyText)", "revision": "\(entry.createRevision)"]
        guard let height = height(of: entry.key) else {
            logger.notice("skipped a log entry: not a block attempt key", metadata: metadata)
            return
        }
        guard height == decided + 1 else {
            if height > decided + 1 {
                logger.notice(
                    "skipped an attempt ahead of the chain", metadata: metadata.merging(["height": "\(decided)"]) { $1 }
                )
            }
            return
        }
        let (proposer, block): (NodeID, Block)
        do {
            (proposer, block) = try signedBlock(entry.value, rules: chain.rules)
        } catch {
            if let proposer = error.signedBy {
                evidence(against: proposer, entry, "\(error)")
            } else {
                Counter(label: "dsmr_ordering_unsigned_attempts_total").increment()
                logger.warning(
                    "skipped an attempt no validator signed", metadata: metadata.merging(["error": "\(error)"]) { $1 })
            }
            return
        }
        guard block.height == height else {
            evidence(against: proposer, entry, "its block is at height \(block.height), not \(height)")
            return
        }
        switch try await chain.acceptOrdered(block) {
        case .accepted:
            progress.withLock {
                $0.height = max($0.height, height)
                $0.lastAccepted = .now
            }
        case .invalid(let reason):
            evidence(against: proposer, entry, "it does not verify: \(reason)")
        }
    }

    /// Records that the attempt `entry`, signed by `proposer`, does not
    /// verify (`why`): it is skipped, stays in the log as evidence (honest
    /// validators delete nothing inside the window), and is logged and
    /// counted (``invalidAttempts``, and the metric
    /// `dsmr_ordering_invalid_attempts_total` by proposer).
    func evidence(against proposer: NodeID, _ entry: EtcdKeyValue, _ why: String) {
        invalid.withLock { $0[proposer, default: 0] += 1 }
        Counter(label: "dsmr_ordering_invalid_attempts_total", dimensions: [("proposer", proposer.hex)]).increment()
        logger.warning(
            "skipped an invalid attempt signed by a validator; it stays in the log as evidence",
            metadata: [
                "proposer": "\(proposer.hex)", "key": "\(entry.keyText)", "revision": "\(entry.createRevision)",
                "reason": "\(why)",
            ])
    }
}
