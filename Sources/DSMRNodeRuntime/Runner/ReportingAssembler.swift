import ChunkStore
import Crypto
import DSMR
import DSMRNode
import Synchronization

/// Executes through the node's state machine and remembers, for recent heights, the digests
/// of the transactions that applied (invalid ones are skipped by the VM),
/// and counts them.
///
/// What it remembers is bounded by heights and by digests: at most
/// ``rememberedHeights`` heights and ``rememberedDigests`` digests (32
/// bytes each, 8 MiB in all), the oldest heights forgotten first, so a
/// validator under a heavy load does not grow with it. A height forgotten
/// is answered from its block (every transaction it carried to execution).
final class ReportingAssembler: Assembler {
    /// How many recent heights are remembered.
    static let rememberedHeights: UInt64 = 4_096
    /// How many digests are remembered over all heights.
    static let rememberedDigests = 262_144

    struct Remembered {
        var byHeight: [UInt64: [[UInt8]]] = [:]
        /// Heights remembered, oldest first.
        var order: [UInt64] = []
        var digests = 0

        mutating func keep(_ digests: [[UInt8]], at height: UInt64) {
            if let old = byHeight.updateValue(digests, forKey: height) {
                self.digests -= old.count
            } else {
                order.append(height)
            }
            self.digests += digests.count
            var dropped = 0
            while dropped < order.count,
                order.count - dropped > Int(ReportingAssembler.rememberedHeights)
                    || self.digests > ReportingAssembler.rememberedDigests,
                order.count - dropped > 1
            {
                self.digests -= byHeight.removeValue(forKey: order[dropped])?.count ?? 0
                dropped += 1
            }
            if dropped > 0 { order.removeFirst(dropped) }
        }
    }

    let stateMachine: any StateMachine
    let onApplied: @Sendable (Int) -> Void
    private let applied = Mutex(Remembered())
    private let onExecuted = Mutex<(@Sendable (UInt64, StateRoot, Int64) async -> Void)?>(nil)

    /// Calls `body` with each height, root and block timestamp right after
    /// the height executes, before the next one does.
    func whenExecuted(_ body: @escaping @Sendable (UInt64, StateRoot, Int64) async -> Void) {
        onExecuted.withLock { $0 = body }
    }

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
            applied.withLock { $0.keep(digests, at: height) }
            onApplied(digests.count)
        }
        if let onExecuted = onExecuted.withLock({ $0 }) { await onExecuted(height, result.root, timestamp) }
        return result.root
    }

    /// The digests of the transactions that applied at `height`, if this process executed it recently.
    func appliedDigests(at height: UInt64) -> [[UInt8]]? { applied.withLock { $0.byHeight[height] } }

    /// How many heights and digests are remembered now.
    var remembered: (heights: Int, digests: Int) { applied.withLock { ($0.order.count, $0.digests) } }
}
