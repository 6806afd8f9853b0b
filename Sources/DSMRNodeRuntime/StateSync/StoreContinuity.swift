import ChunkStore
import DSMR

/// Whether a store can go on accepting blocks: its tip block and every
/// ancestor back through the validity window (which verifying the next
/// block reads) must be held, decode, and link by their parent ids.
///
/// A store that fails this (damaged block rows near the tip, or a salvage
/// that dropped heights) would refuse every later block; the runner moves
/// it aside and comes back through state sync instead.
package enum StoreContinuity {
    /// Why the store cannot go on, or nil when it can (or holds no block yet).
    package static func problem(in store: ChunkStore) -> String? {
        let rules = store.configuration.rules
        do {
            guard let tip = try store.acceptedTip() else { return nil }
            guard let top = try store.block(at: tip.height) else {
                return "the accepted tip's block at height \(tip.height) is missing"
            }
            guard top.id == tip.id else {
                return "the block at height \(tip.height) is not the accepted tip \(tip.id)"
            }
            let (since, overflow) = top.timestamp.subtractingReportingOverflow(rules.validityWindow)
            var block = top
            while block.height > 0, overflow || block.timestamp >= since {
                guard let parent = try store.block(at: block.height - 1) else {
                    return "the block at height \(block.height - 1) is missing below the tip at \(tip.height), "
                        + "inside the validity window the next block is checked against"
                }
                guard parent.id == block.parent else {
                    return "the block at height \(parent.height) is not the parent of the one above it"
                }
                block = parent
            }
            if let executed = try store.executedTip(), executed > tip.height {
                return "the executed tip \(executed) is above the accepted tip \(tip.height)"
            }
            return nil
        } catch {
            return "\(error)"
        }
    }
}
