import DSMR
import DSMRDevnet
import DSMRNodeRuntime
import DSMROrdering
import DSMRTestSupport
import DemoVM
import Foundation
import Testing

/// One validator of four (`dsmr-byzantine`) attacks ordering with its own
/// etcd credentials in a devnet ordering through its secured etcd cluster
/// under load; the honest validators keep ordering and executing, and agree.
///
/// Run only with `DSMR_BYZANTINE_TESTS` set, on its own (`.ci/run`).
@Suite(
    "Byzantine validators with etcd credentials", .serialized,
    .enabled(if: ProcessInfo.processInfo.environment["DSMR_BYZANTINE_TESTS"] != nil))
struct EtcdByzantineTests {
    func options(_ directory: String, behaviour: String, load: Duration) throws -> DevnetOptions {
        var options = try devnetOptions(directory, load: load, rate: 100)
        options.ordering = .etcd
        options.drainTimeout = .seconds(90)
        options.overrides[3] = NodeOverride(
            executable: try builtExecutable("dsmr-byzantine"), environment: ["DSMR_BYZANTINE": behaviour])
        return options
    }

    /// Checks what every attack must leave: every transfer routed to an
    /// honest validator executed, and the honest roots agree.
    /// (`killed` validators lose what their mempools held: their transfers are not counted.)
    func expectHonestAgree(_ summary: DevnetSummary, _ behaviour: String, killed: Set<Int> = []) {
        let honest = summary.nodes.filter { $0.index != 3 }
        for node in honest where !killed.contains(node.index) {
            #expect(
                node.routed.submitted > 0 && node.routed.executed == node.routed.submitted && node.routed.lost == 0,
                "\(behaviour): every transfer routed to honest node\(node.index) executed: \(node.routed)")
        }
        let roots = Set(honest.map(\.stateRoot))
        #expect(roots.count == 1 && roots.first! != nil, "\(behaviour): the honest roots agree: \(honest)")
        #expect(honest.allSatisfy { $0.executedHeight >= summary.commonHeight && summary.commonHeight > 0 })
    }

    /// The attacker races the leader at every height with attempts that
    /// must not verify; at the heights where one of them came first, every
    /// validator skipped it and took the same block.
    @Test func invalidAttemptsPublishedWithAValidatorsCredentialsAreSkippedByEveryone() async throws {
        let scratch = try scratchDirectory("etcd-byz-invalid")
        defer { if ProcessInfo.processInfo.environment["DSMR_KEEP_DEVNET"] == nil { scratch.remove() } }
        try await withDevnet(try options(scratch.path, behaviour: "etcd-invalid", load: .seconds(5))) { devnet in
            // Its etcd client may take seconds to get through on a busy machine: load once it attacks.
            try await waitUntil("the attacker publishes", timeout: .seconds(60), pollingEvery: .milliseconds(50)) {
                logTail(devnet.layout, 3, lines: 200).split(separator: "\n").contains {
                    $0.hasPrefix("dsmr-byzantine: published") && !$0.hasPrefix("dsmr-byzantine: published 0 ")
                }
            }
            let summary = try await devnet.runLoad { _ in }
            expectHonestAgree(summary, "etcd-invalid")
            // Heights where an invalid attempt was created before the block every validator took,
            // through the top every honest validator holds (the attacker keeps on past the load).
            let client = try devnet.etcd!.client()
            defer { Task { await client.shutdown() } }
            let prefix = try etcdPrefix(devnet)
            var top = UInt64.max
            for index in 0..<3 { top = min(top, await topHeight(devnet, [index])) }
            #expect(top >= summary.commonHeight && top > 0)
            var raced = 0
            for height in 1...max(top, 1) {
                let attempts = try await client.range(
                    from: Array("\(prefix)/blocks/\(String(format: "%020llu", height))/".utf8)
                ).keyValues.sorted { $0.createRevision < $1.createRevision }
                var ids: Set<BlockID> = []
                for index in 0..<4 {
                    if case .block(let block)? = await ask(devnet.layout.controlSocket(index), .block(height: height)) {
                        ids.insert(block.id)
                    }
                }
                #expect(ids.count == 1, "height \(height): the validators hold \(ids.count) different blocks")
                guard let chosen = ids.first,
                    let place = attempts.firstIndex(where: {
                        (try? BlockAttempt(
                            decoding: $0.value, maxBlockBytes: DecodingLimits(rules: devnet.rules).maxBlockBytes))?
                            .blockID
                            == chosen
                    })
                else { continue }
                if attempts[..<place].contains(where: { $0.keyText.contains("-bad") }) { raced += 1 }
            }
            #expect(
                raced > 0, "no invalid attempt came before the chosen block at any of \(top) heights")
            // The attempts it signed are evidence against it; the ones no validator signed name no one.
            let attacker = try devnet.layout.validatorKeys()[3].nodeID.hex
            for index in 0..<3 {
                let log = try String(contentsOfFile: devnet.layout.logPath(index), encoding: .utf8)
                let evidence = log.split(separator: "\n").filter { $0.contains("stays in the log as evidence") }
                #expect(!evidence.isEmpty && evidence.allSatisfy { $0.contains("proposer=\(attacker)") })
                #expect(log.contains("skipped an attempt no validator signed"), "validator \(index)")
            }
        }
    }

    /// The attacker wins the election and never proposes: the other
    /// validators' takeovers keep the chain going while it leads.
    @Test func aValidatorHoldingTheLeadershipWithoutProposingIsRoutedAround() async throws {
        let scratch = try scratchDirectory("etcd-byz-squat")
        defer { if ProcessInfo.processInfo.environment["DSMR_KEEP_DEVNET"] == nil { scratch.remove() } }
        var options = try options(scratch.path, behaviour: "etcd-squat", load: .seconds(15))
        // Honest leaders hold a second each, so the attacker's turn comes within seconds.
        options.etcdOrdering = EtcdOrderingConfiguration()
        options.etcdOrdering?.rotateAfter = 1_000
        try await withDevnet(options) { devnet in
            let client = try devnet.etcd!.client()
            defer { Task { await client.shutdown() } }
            let election = Array("\(try etcdPrefix(devnet))/proposer".utf8)
            let attacker = try devnet.layout.validatorKeys()[3].nodeID.hex
            let observed = Task { () -> (led: Bool, heightWhenLed: UInt64?) in
                // Watch for the attacker's leadership while the load runs (its honest part campaigns too).
                for _ in 0..<400 {
                    if logTail(devnet.layout, 3, lines: 200).contains("dsmr-byzantine: leading the election") {
                        return (true, await topHeight(devnet, 0..<3))
                    }
                    try? await Task.sleep(for: .milliseconds(50))
                }
                return (false, nil)
            }
            let summary = try await devnet.runLoad { _ in }
            let (led, heightWhenLed) = await observed.value
            #expect(led, "the attacker never led the election")
            let leaderAtEnd = try await client.leader(name: election)
            #expect(String(decoding: leaderAtEnd?.value ?? [], as: UTF8.self) == attacker, "it still leads")
            let honestTop = await topHeight(devnet, 0..<3)
            #expect(
                honestTop >= (heightWhenLed ?? .max) + 2,
                "the chain moved on under its leadership: from \(heightWhenLed ?? 0) to \(honestTop); node0: \(logTail(devnet.layout, 0, lines: 30))"
            )
            expectHonestAgree(summary, "etcd-squat")
        }
    }

    /// The attacker writes over the attempts below its tip with other
    /// blocks that verify and deletes older ones, all along; an honest
    /// validator killed mid-run reads those heights from the log when it
    /// restarts, and takes the same blocks as the others.
    @Test func attemptsRewrittenOrDeletedWithAValidatorsCredentialsDoNotSplitTheValidators() async throws {
        let scratch = try scratchDirectory("etcd-byz-rewrite")
        defer { if ProcessInfo.processInfo.environment["DSMR_KEEP_DEVNET"] == nil { scratch.remove() } }
        try await withDevnet(try options(scratch.path, behaviour: "etcd-rewrite", load: .seconds(12))) { devnet in
            let restarted = Task {
                try await waitUntil(
                    "the chain reaches height 8", timeout: .seconds(60), pollingEvery: .milliseconds(50)
                ) {
                    await topHeight(devnet, 0..<4) >= 8
                }
                await devnet.kill(1)
                let killedAt = await topHeight(devnet, [0, 2])
                try await waitUntil("the others pass the killed validator by 10", timeout: .seconds(60)) {
                    await topHeight(devnet, [0, 2]) >= killedAt + 10
                }
                try await devnet.startNode(1)
                return killedAt
            }
            let summary = try await devnet.runLoad { _ in }
            let killedAt = try await restarted.value
            let rewrites = logTail(devnet.layout, 3, lines: 400).split(separator: "\n").last {
                $0.contains("dsmr-byzantine: wrote over")
            }
            #expect(rewrites != nil, "the attacker reported no rewrite")
            // The restarted validator read the rewritten and deleted heights from the log.
            let heights = summary.commonHeight
            #expect(heights > killedAt + 10, "the restarted validator caught up past the heights rewritten meanwhile")
            var different: [UInt64] = []
            for height in 1...heights {
                var ids: Set<BlockID> = []
                for index in 0..<4 {
                    if case .block(let block)? = await ask(devnet.layout.controlSocket(index), .block(height: height)) {
                        ids.insert(block.id)
                    }
                }
                if ids.count != 1 { different.append(height) }
            }
            #expect(different.isEmpty, "heights where the validators hold different blocks: \(different)")
            let roots = Set(summary.nodes.map(\.stateRoot))
            #expect(roots.count == 1 && roots.first! != nil, "every root agrees: \(summary.nodes)")
            expectHonestAgree(summary, "etcd-rewrite", killed: [1])
        }
    }
}
