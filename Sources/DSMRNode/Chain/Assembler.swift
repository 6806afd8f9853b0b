import ChunkStore
import DSMR

/// The state machine a node drives: executes a block's transactions on
/// top of its parent's state.
public protocol Assembler: Sendable {
    /// The state root before any block is executed.
    func genesisRoot() throws -> StateRoot

    /// Executes `transactions` (duplicates already dropped, in block order)
    /// on the state `parentRoot` left by `parent`, as the block at `height`
    /// with `timestamp`, and returns the new state root once that state is
    /// durable.
    ///
    /// Asked again for the height it last executed, it returns that
    /// height's root without executing twice (a node may stop between the
    /// assembler's commit and the store's record of it).
    func execute(
        parentRoot: StateRoot, parent: Block, timestamp: Int64, height: UInt64, transactions: [[UInt8]]
    ) async throws -> StateRoot
}
