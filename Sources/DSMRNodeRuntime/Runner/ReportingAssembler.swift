import ChunkStore
import Crypto
import DSMR
import DSMRNode
import Synchronization

/// Executes through the node's state machine and remembers, for recent heights, the digests
/// of the transactions that applied (invalid ones are skipped by the VM),
/// and counts them.
final class ReportingAssembler: Assembler {
    /// How many recent heights are remembered.
    static let rememberedHeights: UInt64 = 4_096

    let stateMachine: any StateMachine
    let onApplied: @Sendable (Int) -> Void
    private let applied = Mutex<[UInt64: [[UInt8]]]>([:])

    init(_ stateMachine: any StateMachine, onApplied: @escaping @Sendable (Int) -> Void) {
        self.stateMachine = stateMachine
        self.onApplied = onApplied
    }

    func genesisRoot() throws -> StateRoot { try stateMachine.genesisRoot() }

    func execute(
        parentRoot: StateRoot, parent: Block, timestamp: Int64, height: UInt64, transactions: [[UInt8]]
    ) async throws -> StateRoot {
        let result = try await stateMachine.executeReporting(
            parentRoot: parentRoot, parent: parent, timestamp: timestamp, height: height, transactions: transactions)
        if let flags = result.applied {
            let digests = zip(transactions, flags).compactMap { $1 ? Array(SHA256.hash(data: $0)) : nil }
            applied.withLock { applied in
                applied[height] = digests
                if height >= Self.rememberedHeights { applied[height - Self.rememberedHeights] = nil }
            }
            onApplied(digests.count)
        }
        return result.root
    }

    /// The digests of the transactions that applied at `height`, if this process executed it recently.
    func appliedDigests(at height: UInt64) -> [[UInt8]]? { applied.withLock { $0[height] } }
}
