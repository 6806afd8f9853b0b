import DSMR
import Foundation

extension DemoVM {
    /// The fewest transactions one verifying task takes: below this a
    /// block's signatures are checked on the calling task, as handing work
    /// out would cost more than it saves.
    public static let transactionsPerVerifyingTask = 64

    /// How many tasks check a block's signatures unless told otherwise: all
    /// cores but one, which is left to the chunk path (signing shares,
    /// the network). On two cores that is one task. With four validators
    /// sharing two cores, checking on both made a transfer's time worse
    /// (six alternating pairs of devnets at 2,500 tx/s: p50 up about a
    /// fifth, p99 about two fifths), as each block's burst took the cores
    /// the other validators' shares wait for.
    public static var defaultVerifyingTasks: Int { max(1, ProcessInfo.processInfo.activeProcessorCount - 1) }

    /// Decodes every transaction and checks its signature on up to
    /// `tasks` tasks: nil where the bytes are no transfer or the signature
    /// does not verify, in the block's order. Run before the block's write
    /// transaction, so that transaction holds the state only for the
    /// balances and the root.
    static func checkedTransfers(_ transactions: [[UInt8]], domain: SigningDomain, tasks: Int) async -> [Transfer?] {
        let tasks = min(tasks, transactions.count / transactionsPerVerifyingTask)
        guard tasks > 1 else { return transactions.map { check($0, domain: domain) } }
        let share = (transactions.count + tasks - 1) / tasks
        return await withTaskGroup(of: (Int, [Transfer?]).self) { group in
            for start in stride(from: 0, to: transactions.count, by: share) {
                let slice = transactions[start..<min(start + share, transactions.count)]
                group.addTask { (start, slice.map { check($0, domain: domain) }) }
            }
            var checked = [Transfer?](repeating: nil, count: transactions.count)
            for await (start, part) in group {
                checked.replaceSubrange(start..<start + part.count, with: part)
            }
            return checked
        }
    }

    /// One transaction decoded and its signature checked; nil when either fails.
    static func check(_ bytes: [UInt8], domain: SigningDomain) -> Transfer? {
        guard let transfer = try? Transfer(decoding: bytes), transfer.verifySignature(domain: domain) else {
            return nil
        }
        return transfer
    }
}
