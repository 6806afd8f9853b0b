import DSMR
import DSMRNodeRuntime

extension Devnet {
    /// With the validators ordering through etcd: follows the chain they
    /// accept (the highest accepted block of any running validator becomes
    /// the tip) and tells the load generator what executed, until
    /// ``stopOrdering()``. Asks nothing to be built or accepted.
    func observeBlocks() async {
        while ordering.withLock({ $0 }) {
            try? await refreshStatus()
            await followAcceptedBlocks()
            await collectExecutedTransactions()
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Takes the blocks past the devnet's tip from the responsive validator furthest ahead.
    func followAcceptedBlocks() async {
        guard let tip = chain.withLock({ $0.tip }) else { return }
        let heights = members.withLock { members in members.map(\.height) }
        guard let ahead = responsive.max(by: { heights[$0] < heights[$1] }) else { return }
        var height = tip.height + 1
        while height <= heights[ahead] {
            guard case .block(let block)? = await ask(ahead, .block(height: height)) else { return }
            chain.withLock { chain in
                chain.tip = block
                chain.blocks[block.height] = block
                if !block.certificates.isEmpty { chain.ordered += 1 }
                if block.height >= Self.blocksKept { chain.blocks[block.height - Self.blocksKept] = nil }
            }
            height += 1
        }
    }
}
