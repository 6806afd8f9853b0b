import DSMR
import DSMROrdering
import Logging

extension EtcdOrdering {
    /// Hands the log's attempts to the node in create-revision order, from
    /// the node's accepted block on, until cancelled. A failure of etcd or of
    /// the node starts over from the node's accepted block after a pause.
    func follow(_ chain: any OrderedChain) async {
        while !Task.isCancelled {
            do {
                let tip = chain.lastAccepted
                let start = try await revision(of: tip, rules: chain.rules)
                progress.withLock {
                    $0.height = tip.height
                    $0.through = start
                }
                try await client.tail(prefix: blocksPrefix, after: start) { entries, through in
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

    /// The create revision of the attempt that made `tip` the block at its
    /// height (0 for the genesis block): attempts at the next height created
    /// before it were skipped by every validator that followed the log, and
    /// are skipped again.
    func revision(of tip: Block, rules: Rules) async throws -> Int64 {
        guard tip.height > 0 else { return 0 }
        let read = try await client.range(from: heightPrefix(tip.height))
        let limits = DecodingLimits(rules: rules)
        let matching = read.keyValues.filter { (try? Block(decoding: $0.value, limits: limits))?.id == tip.id }
        guard let first = matching.min(by: { $0.createRevision < $1.createRevision }) else {
            logger.warning(
                "the accepted block is not in the etcd log; following from the log's start",
                metadata: ["height": "\(tip.height)"])
            return 0
        }
        return first.createRevision
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
        let block: Block
        do {
            block = try Block(decoding: entry.value, limits: DecodingLimits(rules: chain.rules))
        } catch {
            logger.warning(
                "skipped an attempt that does not decode", metadata: metadata.merging(["error": "\(error)"]) { $1 })
            return
        }
        guard block.height == height else {
            logger.warning(
                "skipped an attempt whose block is at another height",
                metadata: metadata.merging(["blockHeight": "\(block.height)"]) { $1 })
            return
        }
        switch try await chain.acceptOrdered(block) {
        case .accepted:
            progress.withLock {
                $0.height = max($0.height, height)
                $0.lastAccepted = .now
            }
        case .invalid(let reason):
            logger.warning(
                "skipped an attempt that does not verify",
                metadata: metadata.merging(["block": "\(block.id)", "reason": "\(reason)"]) { $1 })
        }
    }
}
