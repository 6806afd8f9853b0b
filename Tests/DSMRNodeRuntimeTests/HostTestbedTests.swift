import DSMRDevnet
import DSMRTestSupport
import Foundation
import Testing

/// Devnets whose three etcd members and four validators each run on a host
/// of their own (a network namespace with its own address, see
/// ``HostTestbed``), with faults on a host's link: the validators order
/// through etcd across a network, not loopback.
///
/// Real processes for about a minute and a half, and root: run only with
/// `DSMR_HOST_TESTS` set (`.ci/run` runs them on their own, after the fault
/// suites); skipped where `ip netns add` is refused.
@Suite(
    "hosts", .serialized,
    .enabled(if: ProcessInfo.processInfo.environment["DSMR_HOST_TESTS"] != nil, "set DSMR_HOST_TESTS=1"),
    .enabled(if: HostTestbed.unavailableReason() == nil, "needs root, ip, nft, tc and ip netns add"))
struct HostTestbedTests {
    static let etcdMembers = 3
    static let validators = 4

    /// The host validator `index` runs on (the etcd members take the first hosts).
    static func host(of validator: Int) -> Int { etcdMembers + validator }

    /// Runs `body` on a started devnet whose etcd members and validators each
    /// run on a host of their own; stops the processes, then removes the
    /// testbed, however `body` ends.
    func withHostDevnet<T>(
        _ tag: String, load: Duration?, _ body: (Devnet, HostTestbed) async throws -> T
    ) async throws -> T {
        let scratch = try scratchDirectory(tag)
        defer { scratch.remove() }
        let testbed = try HostTestbed.create(hosts: Self.etcdMembers + Self.validators)
        defer { testbed.tearDown() }
        var options = try devnetOptions(scratch.path, validators: Self.validators, load: load)
        options.ordering = .etcd
        options.drainTimeout = .seconds(60)
        options.etcdMembers = Self.etcdMembers
        options.etcdHosts = (0..<Self.etcdMembers).map(testbed.placement)
        options.validatorHosts = (0..<Self.validators).map { testbed.placement(Self.host(of: $0)) }
        return try await withDevnet(options) { devnet in try await body(devnet, testbed) }
    }

    /// The inode of a network namespace file (`/proc/PID/ns/net`, `/run/netns/NAME`), nil when it cannot be read.
    func namespaceInode(_ path: String) -> UInt64? {
        var information = stat()
        guard stat(path, &information) == 0 else { return nil }
        return UInt64(information.st_ino)
    }

    /// The executed heights of validators `indices`, 0 for one that does not answer.
    func executedHeights(_ devnet: Devnet, _ indices: some Sequence<Int>) async -> [UInt64] {
        var heights: [UInt64] = []
        for index in indices {
            heights.append(await nodeStatus(devnet.layout.controlSocket(index))?.executedHeight ?? 0)
        }
        return heights
    }

    @Test func validatorsAndEtcdMembersOnHostsOfTheirOwnExecuteALoadAndAgree() async throws {
        let summary = try await withHostDevnet("hosts-agree", load: .seconds(5)) { devnet, testbed in
            for index in 0..<Self.validators {
                let host = testbed.hosts[Self.host(of: index)]
                let pid = try #require(devnet.process(index)?.processID)
                #expect(
                    namespaceInode("/proc/\(pid)/ns/net") == namespaceInode("/run/netns/\(host.namespace)"),
                    "validator \(index) runs in \(host.namespace)")
                let configuration = try String(
                    contentsOfFile: devnet.layout.configurationPath(index), encoding: .utf8)
                #expect(configuration.contains("\"\(host.address):"), "validator \(index) listens on \(host.address)")
            }
            // Secured by default (https, a client certificate and user per validator), plain with etcdSecured off.
            #expect(
                devnet.etcd?.endpoints.map { URL(string: $0)?.host }
                    == (0..<Self.etcdMembers).map { testbed.hosts[$0].address })
            return try await devnet.runLoad { _ in }
        }
        print(
            "hosts: \(summary.executed) transfers executed in \(summary.seconds) s "
                + "(\(Int(summary.executedPerSecond)) tx/s), \(summary.blocks) blocks, "
                + "p50 \(summary.p50Milliseconds ?? 0) ms, p99 \(summary.p99Milliseconds ?? 0) ms")
        #expect(summary.rootsAgree, "\(summary)")
        #expect(summary.executed > 0 && summary.blocks > 0)
        #expect(summary.pending == 0 && summary.lost == 0, "\(summary)")
        #expect(summary.executed == summary.submitted, "\(summary)")
        #expect(summary.nodes.allSatisfy { $0.executedHeight >= summary.commonHeight && $0.stateRoot != nil })
    }

    /// Drops all of one validator's traffic for ten seconds while a load
    /// runs: the other three go on executing without it (it accepts
    /// nothing), and once the rule is removed it catches up and agrees.
    @Test func aValidatorCutOffForTenSecondsCatchesUpAndAgrees() async throws {
        try await withHostDevnet("hosts-cut", load: nil) { devnet, testbed in
            let all = 0..<Self.validators
            let victim = Self.validators - 1
            let others = all.filter { $0 != victim }
            try await waitUntil("the chain reaches height 5", timeout: .seconds(30), pollingEvery: .milliseconds(50)) {
                await topHeight(devnet, all) >= 5
            }
            try testbed.cutOff(Self.host(of: victim))
            let cutAt = ContinuousClock.now
            let victimAtCut = await nodeStatus(devnet.layout.controlSocket(victim))?.acceptedHeight ?? 0
            let othersAtCut = await executedHeights(devnet, others).min() ?? 0
            // The load runs through the cut; the rule is removed while it drains.
            let load = Task { try await devnet.runLoad(rate: 100, duration: .seconds(10)) { _ in } }
            do {
                try await Task.sleep(until: cutAt + .seconds(10))
                let othersAtHeal = await executedHeights(devnet, others).min() ?? 0
                let victimAtHeal = await nodeStatus(devnet.layout.controlSocket(victim))?.acceptedHeight ?? 0
                let dropped = try testbed.droppedPackets(Self.host(of: victim))
                try testbed.heal(Self.host(of: victim))
                let healedAt = ContinuousClock.now
                let blocksWithout = othersAtHeal - min(othersAtHeal, othersAtCut)
                print(
                    "hosts: cut off for \(healedAt - cutAt), the other three executed \(blocksWithout) blocks "
                        + "(\(othersAtCut) to \(othersAtHeal)); validator \(victim) accepted \(victimAtCut) to \(victimAtHeal); "
                        + "\(dropped) packets dropped"
                )
                #expect(dropped > 0, "the rules dropped nothing")
                #expect(blocksWithout >= 5, "the other three executed \(othersAtCut) to \(othersAtHeal) without it")
                // A block on its way when the rule went in may still arrive.
                #expect(
                    victimAtHeal <= victimAtCut + 1, "the cut-off validator accepted \(victimAtCut) to \(victimAtHeal)")
                try await waitUntil(
                    "validator \(victim) catches up once reconnected", timeout: .seconds(60),
                    pollingEvery: .milliseconds(50)
                ) {
                    await nodeStatus(devnet.layout.controlSocket(victim))?.executedHeight ?? 0 >= othersAtHeal
                }
                print(
                    "hosts: validator \(victim) executed up to \(othersAtHeal) \(ContinuousClock.now - healedAt) after the heal"
                )
            } catch {
                // The load ends (and drains, reconnected) before the devnet stops.
                try? testbed.heal(Self.host(of: victim))
                devnet.stopLoad()
                _ = try? await load.value
                throw error
            }
            let summary = try await load.value
            print(
                "hosts: load through the cut: \(summary.submitted) submitted, \(summary.executed) executed, "
                    + "\(summary.lost) lost and re-sent, \(summary.pending) pending; "
                    + "routed to validator \(victim): \(summary.nodes[victim].routed)")
            #expect(summary.rootsAgree, "\(summary)")
            #expect(summary.pending == 0, "\(summary)")
            for index in others { #expect(summary.nodes[index].routed.executed > 0, "validator \(index)") }
            let after = try await devnet.runLoad(rate: 100, duration: .seconds(2)) { _ in }
            #expect(after.rootsAgree, "\(after)")
            #expect(after.executed == after.submitted, "\(after)")
        }
    }

    /// Drops everything between two validators' hosts while a load runs:
    /// each still orders through etcd, gets its certificates from the two
    /// others and the other's chunks through them, and the chain executes
    /// everything and agrees.
    @Test func twoValidatorsThatCannotReachEachOtherStillAgree() async throws {
        let (summary, dropped) = try await withHostDevnet("hosts-link", load: nil) { devnet, testbed in
            try testbed.cut(Self.host(of: 3), from: Self.host(of: 0))
            let summary = try await devnet.runLoad(rate: 200, duration: .seconds(5)) { _ in }
            return (summary, try testbed.droppedPackets(Self.host(of: 3)))
        }
        print(
            "hosts: validators 0 and 3 cut apart: \(summary.executed) executed, \(summary.lost) lost, "
                + "p50 \(summary.p50Milliseconds ?? 0) ms, p99 \(summary.p99Milliseconds ?? 0) ms; \(dropped) packets dropped"
        )
        #expect(dropped > 0, "the rules dropped nothing")
        #expect(summary.rootsAgree, "\(summary)")
        #expect(summary.executed == summary.submitted && summary.pending == 0, "\(summary)")
    }

    /// A token bucket on one validator's link (both ways) at 300 kbit/s,
    /// tight enough that it holds packets back (its overlimits count
    /// grows): the chain still executes a load and agrees, and only the
    /// slow validator's own transactions may be lost.
    @Test func aValidatorOnARateLimitedLinkAgrees() async throws {
        let (summary, statistics) = try await withHostDevnet("hosts-tbf", load: nil) { devnet, testbed in
            let host = Self.host(of: 0)
            try testbed.limitRate(host, rate: "300kbit")
            let qdisc = try testbed.queueingDisciplines(host)
            #expect(qdisc.contains("tbf") && qdisc.contains("300Kbit"), "\(qdisc)")
            let summary = try await devnet.runLoad(rate: 200, duration: .seconds(5)) { _ in }
            let statistics = try testbed.queueingDisciplines(host, statistics: true)
            try testbed.removeRateLimit(host)
            return (summary, statistics)
        }
        print(
            "hosts: validator 0 at 300 kbit/s: \(summary.executed) executed (\(Int(summary.executedPerSecond)) tx/s), "
                + "\(summary.lost) lost (routed to it: \(summary.nodes[0].routed)), "
                + "p50 \(summary.p50Milliseconds ?? 0) ms, p99 \(summary.p99Milliseconds ?? 0) ms; "
                + statistics.split(separator: "\n").joined(separator: " "))
        #expect(Self.overlimits(statistics) > 0, "the bucket held nothing back: \(statistics)")
        #expect(summary.rootsAgree, "\(summary)")
        #expect(summary.pending == 0 && summary.executed + summary.lost == summary.submitted, "\(summary)")
        // The slow validator's chunks may expire before a quorum signs them
        // (lost, and re-sent); no other validator loses any.
        for node in summary.nodes.dropFirst() {
            #expect(node.routed.lost == 0, "validator \(node.index): \(node.routed)")
        }
    }

    /// The `overlimits` count in `tc -s qdisc show` output (packets the bucket held back), 0 when absent.
    static func overlimits(_ statistics: String) -> Int {
        let words = statistics.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "," || $0 == ")" })
        guard let index = words.firstIndex(of: "overlimits"), index + 1 < words.endIndex else { return 0 }
        return Int(words[index + 1]) ?? 0
    }
}
