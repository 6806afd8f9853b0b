import ChunkStore
import DSMR

/// What ``Node/verifyAndAccept(_:executing:)`` did with a block.
public enum AcceptOutcome: Hashable, Sendable {
    /// The block was verified and accepted.
    case accepted
    /// The block was already the accepted block at its height; nothing changed.
    case alreadyAccepted
}

extension Node {
    /// The accepted block held at `height`, if any: blocks below the store's
    /// block retention are pruned.
    public func acceptedBlock(at height: UInt64) throws -> Block? { try store.block(at: height) }

    /// The height of the last executed block, if any.
    public func executedTip() throws -> UInt64? { try store.executedTip() }

    /// The state root recorded when the block at `height` was executed.
    public func stateRoot(at height: UInt64) throws -> StateRoot? { try store.stateRoot(at: height) }

    /// Whether `block` is the accepted block at its height.
    public func isAccepted(_ block: Block) throws -> Bool {
        guard block.height <= lastAccepted.height else { return false }
        return try store.block(at: block.height)?.id == block.id
    }

    /// Accepts `block` from an ordering that does not verify blocks itself.
    /// A block that is already the accepted block at its height is left as
    /// it is. Otherwise it must be the next height after the last accepted
    /// block and pass ``verify(block:parent:)``; then it is accepted as
    /// ``accept(_:executing:)`` accepts, executed or only recorded.
    ///
    /// - Throws: ``NodeError/Code/notChildOfLastAccepted`` for a block at
    ///   another height, or a different block at a height already accepted;
    ///   ``BlockVerificationError`` for a block that does not verify; what
    ///   ``accept(_:executing:)`` throws (``NodeError/Code/chunkUnavailable`` leaves
    ///   the block accepted and its execution pending).
    public func verifyAndAccept(_ block: Block, executing: Bool = true) async throws -> AcceptOutcome {
        let last = lastAccepted
        if block.height <= last.height {
            guard try isAccepted(block) else {
                throw NodeError(
                    .notChildOfLastAccepted,
                    "a different block is accepted at height \(block.height); the node is at \(last.height)")
            }
            return .alreadyAccepted
        }
        guard block.height == last.height + 1 else {
            throw NodeError(
                .notChildOfLastAccepted, "the node is at height \(last.height), the block is at \(block.height)")
        }
        try verify(block: block, parent: last)
        try await accept(block, executing: executing)
        return .accepted
    }

    /// Closes the node's store once nothing else uses it (after the
    /// transport stopped); later operations fail with the store's `closed`.
    public func closeStore() { store.close() }
}
