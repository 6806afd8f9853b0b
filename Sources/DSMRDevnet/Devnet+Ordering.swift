import DSMRNodeRuntime
import DSMR

extension Devnet {
    /// Orders blocks until ``stopOrdering()``: each round, a caught-up
    /// validator (in turn) builds a block on the tip, every responsive
    /// validator is given it, and the round ends once a quorum accepted it
    /// (the others' answers are awaited in the background; a validator
    /// still behind gets the blocks it lacks as a laggard). A validator
    /// answers once it has recorded a block and executes it meanwhile, so
    /// what executed is collected apart from the rounds
    /// (``collectWhileOrdering()``).
    func orderBlocks() async {
        async let collecting: Void = collectWhileOrdering()
        while ordering.withLock({ $0 }) {
            let started = ContinuousClock.now
            let before = chain.withLock { $0.tip?.height }
            await orderOneBlock()
            await catchUpLaggards()
            // While the load waits for chain time to catch up, the next block
            // comes at once (each moves it by at most maxBlockSkew), once
            // this round ordered one. Under load the pause stays: rounds
            // back to back would take the CPU the chunks' signing needs.
            let after = chain.withLock { $0.tip?.height }
            if after != before, catchingUp.withLock({ $0 }) { continue }
            let next = started + options.blockInterval
            if ContinuousClock.now < next { try? await Task.sleep(until: next) }
        }
        await collecting
    }

    /// Tells the load generator what executed, every ``collectInterval``
    /// until ``stopOrdering()``, then once more: a transfer is seen executed
    /// at most that long after a validator executed it, whenever that is
    /// within a round.
    func collectWhileOrdering() async {
        while ordering.withLock({ $0 }) {
            await collectExecutedTransactions()
            try? await Task.sleep(for: Self.collectInterval)
        }
        await collectExecutedTransactions()
    }

    /// How often the driver asks what executed.
    static let collectInterval: Duration = .milliseconds(20)

    /// Stops the ordering loop after its current round.
    func stopOrdering() { ordering.withLock { $0 = false } }

    /// With ordering stopped: gives every responsive validator the blocks
    /// it lacks (a round ends at a quorum, so some may be behind), for at
    /// most `limit`.
    func catchUpEveryone(within limit: Duration) async {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline, let tip = chain.withLock({ $0.tip }) {
            let behind = responsive.filter { index in members.withLock { $0[index].height < tip.height } }
            if behind.isEmpty { return }
            await catchUpLaggards()
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    /// The block timestamp for a child of `parent` now: the clock, but at
    /// most `maxBlockSkew` after the parent (so an idle chain catches up in
    /// steps) and always after it (saturating: a parent at the end of time
    /// gets a timestamp no block can have, and nothing is built on it).
    func timestamp(after parent: Block) -> Int64 {
        let now = SystemClockMilliseconds.now()
        let (latest, overflow) = parent.timestamp.addingReportingOverflow(rules.maxBlockSkew)
        let (earliest, atEnd) = parent.timestamp.addingReportingOverflow(1)
        return atEnd ? .max : max(earliest, min(now, overflow ? .max : latest))
    }

    /// Asks a caught-up validator (in turn) to build on the tip at the
    /// driver's timestamp, and has every validator accept the block. The
    /// block may carry no certificate: it then only moves chain time (a
    /// validator builds one when it holds no certificate and the tip is at
    /// least a slot old), and is ordered like any other. A block at another
    /// timestamp than the one asked for is not ordered, so no validator can
    /// move chain time ahead of the driver's clock.
    func orderOneBlock() async {
        guard let tip = chain.withLock({ $0.tip }) else { return }
        if await adoptBlockAhead(of: tip) { return }
        let candidates = responsive.filter { index in
            members.withLock { !$0[index].accepting && $0[index].height == tip.height }
        }
        guard !candidates.isEmpty else { return }
        let round = chain.withLock { chain -> Int in
            defer { chain.round += 1 }
            return chain.round
        }
        let timestamp = timestamp(after: tip)
        var block: Block?
        for offset in 0..<candidates.count {
            let leader = candidates[(round + offset) % candidates.count]
            switch await ask(leader, .buildBlock(timestamp: timestamp)) {
            case .block(let built)?
            where built.parent == tip.id && built.height == tip.height + 1 && built.timestamp == timestamp:
                block = built
            case .error(let error)? where error.code == .nothingToBuild:
                return
            default:
                continue
            }
            break
        }
        guard let block else { return }
        let accepted = await acceptEverywhere(block)
        guard accepted > 0 else { return }
        chain.withLock { chain in
            chain.tip = block
            chain.blocks[block.height] = block
            if !block.certificates.isEmpty { chain.ordered += 1 }
            // Older blocks are asked of a validator when a laggard needs them.
            if block.height >= Self.blocksKept { chain.blocks[block.height - Self.blocksKept] = nil }
        }
    }

    /// How many recent blocks the driver keeps in memory.
    static let blocksKept: UInt64 = 4_096

    /// A validator may hold a block past the tip: it accepted the block
    /// durably, then died before its answer arrived. That block is the chain
    /// now (there is no other at its height): it becomes the tip and the
    /// others get it as laggards. Returns whether a block was adopted.
    func adoptBlockAhead(of tip: Block) async -> Bool {
        let ahead = responsive.filter { index in members.withLock { $0[index].height > tip.height } }
        for index in ahead {
            guard case .block(let block)? = await ask(index, .block(height: tip.height + 1)), block.parent == tip.id
            else { continue }
            chain.withLock { chain in
                chain.tip = block
                chain.blocks[block.height] = block
                if !block.certificates.isEmpty { chain.ordered += 1 }
            }
            return true
        }
        return false
    }

    /// Gives `block` to every responsive validator at its parent (none
    /// with a block still out to it) and returns how many accepted it, once
    /// a quorum of the validators has, or once every one asked has
    /// answered. The others' answers are awaited in the background.
    func acceptEverywhere(_ block: Block) async -> Int {
        let targets = responsive.filter { index in
            members.withLock { members in
                guard !members[index].accepting, members[index].height + 1 == block.height else { return false }
                members[index].accepting = true
                return true
            }
        }
        guard !targets.isEmpty else { return 0 }
        let quorum = options.validators * 2 / 3 + 1
        let (answers, answered) = AsyncStream.makeStream(of: Bool.self)
        for index in targets {
            Task {
                let accepted = await self.accept(block, at: index)
                self.members.withLock { $0[index].accepting = false }
                answered.yield(accepted)
            }
        }
        var accepted = 0
        var heard = 0
        for await answer in answers {
            heard += 1
            if answer { accepted += 1 }
            if accepted >= quorum || heard == targets.count { break }
        }
        answered.finish()
        return accepted
    }

    /// Has validator `index` accept `block`; returns whether it did.
    func accept(_ block: Block, at index: Int) async -> Bool {
        guard let client = client(of: index),
            case .accepted(let height, _)? = try? await client.send(.acceptBlock(block), timeout: .seconds(60))
        else { return false }
        members.withLock { $0[index].height = max($0[index].height, height) }
        return true
    }

    /// Gives each responsive validator behind the tip (none with a block
    /// still out to it) the blocks it lacks, in the background, a bounded
    /// batch per round, so ordering goes on while a validator catches up.
    func catchUpLaggards() async {
        guard let tip = chain.withLock({ $0.tip }) else { return }
        let behind = responsive.filter { index in
            members.withLock { members in
                guard !members[index].accepting, members[index].height < tip.height else { return false }
                members[index].accepting = true
                return true
            }
        }
        for index in behind {
            Task {
                var next = self.members.withLock { $0[index].height } + 1
                let last = min(tip.height, next + 63)
                while next <= last, self.isResponsive(index) {
                    guard let block = await self.block(at: next, excluding: index), await self.accept(block, at: index)
                    else { break }
                    next += 1
                }
                self.members.withLock { $0[index].accepting = false }
            }
        }
    }

    /// The ordered block at `height`, from memory or from a validator holding it.
    func block(at height: UInt64, excluding excluded: Int) async -> Block? {
        if let known = chain.withLock({ $0.blocks[height] }) { return known }
        for index in responsive where index != excluded {
            if case .block(let block)? = await ask(index, .block(height: height)) {
                return block
            }
        }
        return nil
    }

    /// Tells the load generator which transactions the newly executed blocks carried.
    func collectExecutedTransactions() async {
        let (from, tip) = chain.withLock { ($0.digestsThrough, $0.tip?.height ?? 0) }
        guard from < tip else { return }
        let holders = responsive.filter { index in members.withLock { $0[index].height >= tip } }
        guard let reference = holders.first else { return }
        var height = from + 1
        while height <= tip {
            guard case .transactions(let digests)? = await ask(reference, .blockTransactions(height: height)) else {
                break
            }
            generator.executed(digests)
            chain.withLock { $0.digestsThrough = height }
            height += 1
        }
    }
}
