import ChunkStore
import DSMR
import Synchronization

/// Chain time: the timestamp of the last accepted block, read back from the
/// store when a node starts, so a restarted node checks expiries against
/// the chain it left, not against zero.
package final class ChainTimeSource: Sendable {
    private let time: Mutex<Int64>

    /// The timestamp of the accepted tip in `store`, or `genesis` when no block is recorded.
    package init(store: ChunkStore, genesis: ChainTime = .milliseconds(0)) throws {
        var time = genesis.milliseconds
        if let tip = try store.acceptedTip(), let block = try store.block(at: tip.height) {
            time = block.timestamp
        }
        self.time = Mutex(time)
    }

    /// The current chain time.
    package var now: ChainTime { .milliseconds(time.withLock { $0 }) }

    /// Moves chain time to `timestamp` (never back), when a block is accepted.
    package func advance(to timestamp: Int64) { time.withLock { $0 = max($0, timestamp) } }
}
