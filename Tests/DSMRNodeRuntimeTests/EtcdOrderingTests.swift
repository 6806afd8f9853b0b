import DSMR
import DSMRDevnet
import DSMRNodeRuntime
import DSMROrdering
import DSMRTestSupport
import DemoVM
import Foundation
import Testing

/// Devnets of four `dsmr-node` processes ordering through three etcd members
/// the devnet starts (on free ports) and stops: no driver.
@Suite("etcd ordering", .serialized)
struct EtcdOrderingTests {
    func etcdOptions(_ directory: String, load: Duration?) throws -> DevnetOptions {
        var options = try devnetOptions(directory, load: load)
        options.ordering = .etcd
        // Generous: on a loaded machine etcd's commits and the validators' takeovers slow the drain.
        options.drainTimeout = .seconds(60)
        return options
    }

    @Test func fourValidatorsOrderingThroughEtcdExecuteALoadAndAgree() async throws {
        let scratch = try scratchDirectory("etcd-agree")
        defer { scratch.remove() }
        let summary = try await withDevnet(try etcdOptions(scratch.path, load: .seconds(3))) { devnet in
            try await devnet.runLoad { _ in }
        }
        #expect(summary.rootsAgree, "\(summary)")
        #expect(summary.executed > 0 && summary.blocks > 0)
        #expect(summary.pending == 0 && summary.lost == 0, "\(summary)")
        #expect(summary.executed == summary.submitted, "\(summary)")
        #expect(summary.nodes.allSatisfy { $0.executedHeight >= summary.commonHeight && $0.stateRoot != nil })
    }

    /// SIGKILLs the validator leading the election: another proposes within
    /// the lease (2 s) plus the takeover bound (4 s and a quarter second per
    /// validator), every block the killed validator accepted stays the
    /// chain's, it catches up from the log once restarted, and roots agree.
    @Test func theLeadersValidatorKilledIsReplacedAndNothingAcceptedIsLost() async throws {
        let scratch = try scratchDirectory("etcd-kill")
        defer { scratch.remove() }
        try await withDevnet(try etcdOptions(scratch.path, load: nil)) { devnet in
            let client = try devnet.etcd!.client()
            defer { Task { await client.shutdown() } }
            let all = 0..<4
            try await waitUntil("the chain reaches height 5", timeout: .seconds(30), pollingEvery: .milliseconds(50)) {
                await topHeight(devnet, all) >= 5
            }
            guard let leader = try await client.leader(name: Array("\(try etcdPrefix(devnet))/proposer".utf8)),
                let victim = try devnet.layout.validatorKeys().firstIndex(where: {
                    $0.nodeID.hex == String(decoding: leader.value, as: UTF8.self)
                })
            else { throw TestFailure("no validator leads the election") }
            let acceptedByVictim = await nodeStatus(devnet.layout.controlSocket(victim))?.acceptedHeight ?? 0
            await devnet.kill(victim)
            let killedAt = ContinuousClock.now
            let others = all.filter { $0 != victim }
            let heightAtKill = await topHeight(devnet, others)
            try await waitUntil(
                "another validator proposes", timeout: .seconds(2 + 4 + 2), pollingEvery: .milliseconds(50)
            ) {
                await topHeight(devnet, others) >= heightAtKill + 2
            }
            let replacedAfter = ContinuousClock.now - killedAt
            #expect(replacedAfter < .seconds(8), "the chain moved on after \(replacedAfter)")
            try await devnet.startNode(victim)
            try await waitUntil(
                "the restarted validator catches up from the log", timeout: .seconds(30),
                pollingEvery: .milliseconds(50)
            ) {
                await nodeStatus(devnet.layout.controlSocket(victim))?.acceptedHeight ?? 0 >= heightAtKill + 2
            }
            // Every block the killed validator had accepted is the chain's everywhere.
            #expect(acceptedByVictim > 0)
            let restarted = try await blockIDs(devnet, at: victim, through: acceptedByVictim)
            for index in others {
                #expect(try await blockIDs(devnet, at: index, through: acceptedByVictim) == restarted)
            }
            let summary = try await devnet.runLoad(rate: 100, duration: .seconds(1)) { _ in }
            #expect(summary.rootsAgree, "\(summary)")
        }
    }

    /// Writes a block with a wrong parent straight into the log at the next
    /// height: every validator logs it skipped (the same key), and the chain
    /// goes on to agree.
    @Test func anInvalidAttemptAtTheNextHeightIsSkippedByEveryValidator() async throws {
        let scratch = try scratchDirectory("etcd-invalid")
        defer { scratch.remove() }
        try await withDevnet(try etcdOptions(scratch.path, load: nil)) { devnet in
            let client = try devnet.etcd!.client()
            defer { Task { await client.shutdown() } }
            let all = 0..<4
            let prefix = try etcdPrefix(devnet)
            let signers = try devnet.layout.validatorKeys()
            try await waitUntil("the chain reaches height 3", timeout: .seconds(30), pollingEvery: .milliseconds(50)) {
                await topHeight(devnet, all) >= 3
            }
            var skippedKey: String?
            for attempt in 0..<20 where skippedKey == nil {
                // The log's last height, straight from etcd.
                let log = try await client.range(from: Array("\(prefix)/blocks/".utf8))
                let heights = log.keyValues.compactMap { kv -> UInt64? in
                    let parts = kv.keyText.split(separator: "/")
                    return parts.count >= 2 ? UInt64(parts[parts.count - 2]) : nil
                }
                let next = (heights.max() ?? 0) + 1
                let forged = Block(
                    parent: BlockID(hashing: Array("no such parent".utf8)), height: next,
                    timestamp: Int64(Date().timeIntervalSince1970 * 1_000), certificates: [])
                let key = "\(prefix)/blocks/\(String(format: "%020llu", next))/forged-\(attempt)"
                // Signed by validator 3: evidence against it, skipped by everyone.
                let signed = try BlockAttempt(signing: forged, by: signers[3], in: try signingDomain(devnet))
                _ = try await client.createIfAbsent(Array(key.utf8), signed.encoded)
                let skippedByAll = await eventually(within: .seconds(3), pollingEvery: .milliseconds(100)) {
                    all.allSatisfy { logTail(devnet.layout, $0, lines: 400).contains(key) }
                }
                if skippedByAll { skippedKey = key }
            }
            guard let skippedKey else { throw TestFailure("no forged attempt was the first at its height") }
            for index in all {
                let line = logTail(devnet.layout, index, lines: 400).split(separator: "\n").first {
                    $0.contains(skippedKey)
                }
                #expect(line?.contains("does not verify") == true, "validator \(index): \(line ?? "none")")
                #expect(line?.contains("proposer=\(signers[3].nodeID.hex)") == true, "the evidence names its signer")
                #expect(line?.contains("wrongParent") == true || line?.contains("parent is") == true)
            }
            let before = await topHeight(devnet, all)
            let summary = try await devnet.runLoad(rate: 100, duration: .seconds(1)) { _ in }
            #expect(summary.rootsAgree, "\(summary)")
            #expect(summary.commonHeight > before)
        }
    }

    /// A holder of etcd credentials without a validator's key publishes,
    /// first at the next height, a block that would verify: bare, and signed
    /// by a key outside the validator set. Every validator skips both (the
    /// logs name them "no validator signed") and takes another block there.
    @Test func anAttemptNoValidatorSignedIsSkippedThoughItsBlockWouldVerify() async throws {
        let scratch = try scratchDirectory("etcd-unsigned")
        defer { scratch.remove() }
        try await withDevnet(try etcdOptions(scratch.path, load: nil)) { devnet in
            let client = try devnet.etcd!.client()
            defer { Task { await client.shutdown() } }
            let all = 0..<4
            let prefix = try etcdPrefix(devnet)
            let outsider = Ed25519Signer.generate()
            try await waitUntil("the chain reaches height 3", timeout: .seconds(30), pollingEvery: .milliseconds(50)) {
                await topHeight(devnet, all) >= 3
            }
            var published: (height: UInt64, block: Block, keys: [String])?
            for attempt in 0..<40 where published == nil {
                let height = await topHeight(devnet, [0])
                guard case .block(let tip)? = await ask(devnet.layout.controlSocket(0), .block(height: height)) else {
                    continue
                }
                let next = height + 1
                let block = Block(
                    parent: tip.id, height: next,
                    timestamp: max(tip.timestamp + 1, Int64(Date().timeIntervalSince1970 * 1_000)), certificates: [])
                let atHeight = "\(prefix)/blocks/\(String(format: "%020llu", next))/"
                let keys = [atHeight + "bare-\(attempt)", atHeight + "outsider-\(attempt)"]
                _ = try await client.createIfAbsent(Array(keys[0].utf8), block.encoded())
                _ = try await client.createIfAbsent(
                    Array(keys[1].utf8),
                    try BlockAttempt(signing: block, by: outsider, in: signingDomain(devnet)).encoded)
                // Ours count only if the bare one came first at its height.
                let first = try await client.range(from: Array(atHeight.utf8)).keyValues
                    .min { $0.createRevision < $1.createRevision }
                if first?.keyText == keys[0] { published = (next, block, keys) }
            }
            guard let published else { throw TestFailure("no bare attempt was the first at its height") }
            try await waitUntil(
                "every validator passes the height", timeout: .seconds(30), pollingEvery: .milliseconds(200)
            ) {
                (try? await statuses(devnet.layout, all).values.allSatisfy { $0.acceptedHeight >= published.height })
                    ?? false
            }
            var chosen: Set<BlockID> = []
            for index in all {
                if case .block(let block)? = await ask(
                    devnet.layout.controlSocket(index), .block(height: published.height))
                {
                    chosen.insert(block.id)
                }
                let log = logTail(devnet.layout, index, lines: 600).split(separator: "\n")
                for key in published.keys {
                    let line = log.first { $0.contains(key) }
                    #expect(
                        line?.contains("no validator signed") == true, "validator \(index), \(key): \(line ?? "none")")
                }
            }
            #expect(chosen.count == 1 && !chosen.contains(published.block.id), "\(chosen)")
        }
    }

    /// The ids of validator `index`'s accepted blocks at heights 1 through `height`.
    func blockIDs(_ devnet: Devnet, at index: Int, through height: UInt64) async throws -> [BlockID] {
        var ids: [BlockID] = []
        guard height > 0 else { return ids }
        for current in 1...height {
            guard case .block(let block)? = await ask(devnet.layout.controlSocket(index), .block(height: current))
            else { throw TestFailure("validator \(index) holds no block at \(current)") }
            ids.append(block.id)
        }
        return ids
    }
}
