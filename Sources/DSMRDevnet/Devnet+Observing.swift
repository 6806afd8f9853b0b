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

    /// Takes the blocks past the devnet's tip from the running validator furthest ahead.
    func followAcceptedBlocks() async {
        guard let tip = chain.withLock({ $0.tip }) else { return }
        let ahead = members.withLock { members in
            members.indices.filter { members[$0].client != nil }.max { members[$0].height < members[$1].height }
        }
        guard let ahead, let client = client(of: ahead) else { return }
        let top = members.withLock { $0[ahead].height }
        var height = tip.height + 1
        while height <= top {
            guard case .block(let block)? = try? await client.send(.block(height: height)) else { return }
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
