import ChunkStore
import Crypto
import DSMR

/// Executes accepted blocks in height order: gathers each block's chunks
/// from a ``ChunkSource``, drops repeated transactions, runs the rest
/// through an ``Assembler`` and records the height as executed with its
/// state root. Used by the node after acceptance and by tools that replay
/// a store.
public struct BlockExecutor: Sendable {
    /// The store whose accepted blocks are executed.
    public let store: ChunkStore
    /// The state machine.
    public let assembler: any Assembler
    /// Where chunks come from.
    public let chunks: any ChunkSource

    /// An executor of `store`'s blocks.
    public init(store: ChunkStore, assembler: any Assembler, chunks: any ChunkSource) {
        self.store = store
        self.assembler = assembler
        self.chunks = chunks
    }

    /// Executes every accepted block above the executed tip, in order, and
    /// returns the heights executed with their roots. A block whose chunks
    /// cannot be had stops the run with the source's error; it and those
    /// after it stay accepted and unexecuted, to be retried.
    @discardableResult
    public func executePending() async throws -> [(height: UInt64, root: StateRoot)] {
        guard let accepted = try store.acceptedTip() else { return [] }
        var done: [(UInt64, StateRoot)] = []
        var next: UInt64
        if let executed = try store.executedTip() {
            next = executed + 1
        } else {
            // The first recorded block is the chain's start: its state is the genesis state.
            guard let first = try store.firstStoredHeight(upTo: accepted.height) else { return [] }
            let root = try assembler.genesisRoot()
            try await store.markExecuted(height: first, stateRoot: root)
            done.append((first, root))
            next = first + 1
        }
        while next <= accepted.height {
            guard let block = try store.block(at: next), let parent = try store.block(at: next - 1),
                let parentRoot = try store.stateRoot(at: next - 1)
            else {
                throw ChunkStoreError(.corruptRecord, "block \(next) or its parent's state root is missing")
            }
            let root = try await execute(block, parent: parent, parentRoot: parentRoot)
            try await store.markExecuted(height: next, stateRoot: root)
            done.append((next, root))
            next += 1
        }
        return done
    }

    /// Executes `block` on `parentRoot` and returns the new root, recording nothing in the store.
    public func execute(_ block: Block, parent: Block, parentRoot: StateRoot) async throws -> StateRoot {
        let transactions = try await transactions(of: block)
        return try await assembler.execute(
            parentRoot: parentRoot, parent: parent, timestamp: block.timestamp, height: block.height,
            transactions: transactions)
    }

    /// The block's transactions in certificate order, then chunk order, each kept at its first appearance.
    public func transactions(of block: Block) async throws -> [[UInt8]] {
        var seen: Set<[UInt8]> = []
        var result: [[UInt8]] = []
        for certificate in block.certificates {
            let chunk = try await chunks.chunk(for: certificate)
            for transaction in chunk.transactions {
                let digest = Array(SHA256.hash(data: transaction))
                if seen.insert(digest).inserted { result.append(transaction) }
            }
        }
        return result
    }
}

extension ChunkStore {
    /// The lowest height of the unbroken run of stored blocks ending at `tip`:
    /// the chain's first block in this store. Reads one block per height.
    func firstStoredHeight(upTo tip: UInt64) throws -> UInt64? {
        var height = tip
        guard try block(at: height) != nil else { return nil }
        while height > 0, try block(at: height - 1) != nil { height -= 1 }
        return height
    }
}
