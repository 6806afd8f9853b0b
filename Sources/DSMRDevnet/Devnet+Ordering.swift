import DSMRNodeRuntime
import DSMR

extension Devnet {
    /// Orders blocks until ``stopOrdering()``: each round, a caught-up
    /// validator (in turn) builds a block on the tip and every running
    /// validator accepts it.
    func orderBlocks() async {
        while ordering.withLock({ $0 }) {
            let started = ContinuousClock.now
            await orderOneBlock()
            await catchUpLaggards()
            await collectExecutedTransactions()
            let next = started + options.blockInterval
            if ContinuousClock.now < next { try? await Task.sleep(until: next) }
        }
    }

    /// Stops the ordering loop after its current round.
    func stopOrdering() { ordering.withLock { $0 = false } }

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
        let candidates = members.withLock { members in
            members.indices.filter { members[$0].client != nil && members[$0].height == tip.height }
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
            guard let client = client(of: leader) else { continue }
            do {
                if case .block(let built) = try await client.send(.buildBlock(timestamp: timestamp)),
                    built.parent == tip.id, built.height == tip.height + 1, built.timestamp == timestamp
                {
                    block = built
                    break
                }
            } catch let error as ControlError where error.code == .nothingToBuild {
                return
            } catch {
                continue
            }
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
        let ahead = members.withLock { members in
            members.indices.filter { members[$0].client != nil && members[$0].height > tip.height }
        }
        for index in ahead {
            guard case .block(let block)? = try? await client(of: index)?.send(.block(height: tip.height + 1)),
                block.parent == tip.id
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

    /// Has every running validator at the block's parent accept it; returns how many did.
    func acceptEverywhere(_ block: Block) async -> Int {
        let targets = members.withLock { members in
            members.indices.compactMap { index -> (Int, ControlClient)? in
                guard let client = members[index].client, members[index].height + 1 == block.height else { return nil }
                return (index, client)
            }
        }
        return await withTaskGroup(of: Int.self) { group in
            for (index, client) in targets {
                group.addTask {
                    guard case .accepted(let height, _)? = try? await client.send(.acceptBlock(block)) else { return 0 }
                    self.members.withLock { $0[index].height = max($0[index].height, height) }
                    return 1
                }
            }
            return await group.reduce(0, +)
        }
    }

    /// Gives each running validator behind the tip the blocks it lacks.
    func catchUpLaggards() async {
        guard let tip = chain.withLock({ $0.tip }) else { return }
        let behind = members.withLock { members in
            members.indices.compactMap { index -> (Int, ControlClient, UInt64)? in
                guard let client = members[index].client, members[index].height < tip.height else { return nil }
                return (index, client, members[index].height)
            }
        }
        for (index, client, height) in behind {
            var next = height + 1
            // A bounded batch per round, so ordering goes on while a validator catches up.
            while next <= tip.height, next <= height + 64 {
                guard let block = await block(at: next, excluding: index) else { break }
                guard case .accepted(let accepted, _)? = try? await client.send(.acceptBlock(block)) else { break }
                members.withLock { $0[index].height = max($0[index].height, accepted) }
                next += 1
            }
        }
    }

    /// The ordered block at `height`, from memory or from a validator holding it.
    func block(at height: UInt64, excluding excluded: Int) async -> Block? {
        if let known = chain.withLock({ $0.blocks[height] }) { return known }
        for index in live where index != excluded {
            if case .block(let block)? = try? await client(of: index)?.send(.block(height: height)) {
                return block
            }
        }
        return nil
    }

    /// Tells the load generator which transactions the newly executed blocks carried.
    func collectExecutedTransactions() async {
        let (from, tip) = chain.withLock { ($0.digestsThrough, $0.tip?.height ?? 0) }
        guard from < tip else { return }
        let holders = members.withLock { members in
            members.indices.filter { members[$0].client != nil && members[$0].height >= tip }
        }
        guard let reference = holders.first, let client = client(of: reference) else { return }
        var height = from + 1
        while height <= tip {
            guard case .transactions(let digests)? = try? await client.send(.blockTransactions(height: height)) else {
                break
            }
            generator.executed(digests)
            chain.withLock { $0.digestsThrough = height }
            height += 1
        }
    }
}
