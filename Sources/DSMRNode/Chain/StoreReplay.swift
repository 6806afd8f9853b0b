import ChunkStore
import DSMR

/// Re-executes a store's accepted blocks and compares each height's state
/// root with the one recorded when the node executed it.
///
/// State is rebuilt from the first stored block (the chain's genesis), so
/// every chunk from there on must still be held; `from` only sets the first
/// height compared.
package struct StoreReplay: Sendable {
    /// How a replay ended.
    package enum Outcome: Sendable, Hashable {
        /// Every compared height matched.
        case matched
        /// The root computed at `height` is not the one recorded.
        case mismatch(height: UInt64, recorded: StateRoot?, computed: StateRoot)
        /// A chunk needed at `height` is no longer held; `reason` names the retention that dropped it.
        case chunkMissing(height: UInt64, reason: String)
        /// The blocks below `height` were pruned (`blockRetention`), so the
        /// chain cannot be replayed from its genesis state.
        case blocksPruned(below: UInt64, reason: String)
    }

    /// What a replay found.
    package struct Report: Sendable, Hashable {
        /// The heights compared, each matching.
        package var matched: [UInt64] = []
        /// How it ended.
        package var outcome: Outcome = .matched
    }

    /// The store replayed (read-only is enough).
    package let store: ChunkStore
    /// A fresh state machine at its genesis state.
    package let assembler: any Assembler

    /// A replay of `store` on `assembler`, which must be at its genesis state.
    package init(store: ChunkStore, assembler: any Assembler) {
        self.store = store
        self.assembler = assembler
    }

    /// Replays heights up to `to` (default: the executed tip), comparing
    /// those from `from` on; stops at the first mismatch or missing chunk.
    package func run(
        from: UInt64 = 0, to: UInt64? = nil, start: (height: UInt64, root: StateRoot)? = nil
    ) async throws -> Report {
        var report = Report()
        guard let executed = try store.executedTip(), var first = try store.firstStoredHeight(upTo: executed) else {
            return report
        }
        if let start {
            // Replay starts from a snapshot's state at its height: that block must be held.
            guard start.height >= first, try store.block(at: start.height) != nil else {
                report.outcome = .blocksPruned(
                    below: first,
                    reason: "the snapshot is of height \(start.height), but the store holds blocks from \(first) only")
                return report
            }
            first = start.height
        }
        // Replay starts from the genesis state, at height 0, or from a snapshot's.
        guard first == 0 || start != nil else {
            let retention = store.configuration.blockRetention ?? store.configuration.acceptedRetention
            report.outcome = .blocksPruned(
                below: first,
                reason: "accepted blocks below height \(first) were pruned: blocks are kept for blockRetention = "
                    + "\(retention) ms after their timestamp (by default acceptedRetention, as long as their chunks), "
                    + "and replay needs every block from the genesis state on")
            return report
        }
        let last = min(to ?? executed, executed)
        let executor = BlockExecutor(store: store, assembler: assembler, chunks: StoreChunkSource(store: store))
        var root = try start?.root ?? assembler.genesisRoot()
        if first >= from && first <= last {
            if let outcome = try compare(first, root) {
                report.outcome = outcome
                return report
            }
            report.matched.append(first)
        }
        guard first < last else { return report }
        var parent = try store.block(at: first)!
        for height in (first + 1)...last {
            guard let block = try store.block(at: height) else {
                throw ChunkStoreError(.corruptRecord, "accepted block \(height) is missing")
            }
            do {
                root = try await executor.execute(block, parent: parent, parentRoot: root)
            } catch let missing as ChunkMissing {
                report.outcome = .chunkMissing(height: height, reason: try explain(missing))
                return report
            }
            if height >= from {
                if let outcome = try compare(height, root) {
                    report.outcome = outcome
                    return report
                }
                report.matched.append(height)
            }
            parent = block
        }
        return report
    }

    private func compare(_ height: UInt64, _ computed: StateRoot) throws -> Outcome? {
        let recorded = try store.stateRoot(at: height)
        return recorded == computed ? nil : .mismatch(height: height, recorded: recorded, computed: computed)
    }

    private func explain(_ missing: ChunkMissing) throws -> String {
        let reference = missing.reference
        let retention = store.configuration.acceptedRetention
        let watermark = try store.watermark()
        return "\(missing); accepted chunks are kept for acceptedRetention = \(retention) ms after they expire "
            + "(it expired at \(reference.expiry), the watermark is \(watermark))"
    }
}
