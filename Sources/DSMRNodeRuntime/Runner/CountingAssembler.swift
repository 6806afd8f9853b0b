import ChunkStore
import DSMR
import DSMRNode
import Synchronization

/// Passes execution to another assembler and counts the transactions it was given.
final class CountingAssembler: Assembler {
    let inner: any Assembler
    let onExecute: @Sendable (Int) -> Void

    init(_ inner: any Assembler, onExecute: @escaping @Sendable (Int) -> Void) {
        self.inner = inner
        self.onExecute = onExecute
    }

    func genesisRoot() throws -> StateRoot { try inner.genesisRoot() }

    func execute(
        parentRoot: StateRoot, parent: Block, timestamp: Int64, height: UInt64, transactions: [[UInt8]]
    ) async throws -> StateRoot {
        let root = try await inner.execute(
            parentRoot: parentRoot, parent: parent, timestamp: timestamp, height: height, transactions: transactions)
        onExecute(transactions.count)
        return root
    }
}
