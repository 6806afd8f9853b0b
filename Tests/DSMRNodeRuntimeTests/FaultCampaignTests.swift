import DSMR
import DSMRDevnet
import DSMRTestSupport
import Foundation
import Testing

/// The fault campaign: a devnet of real processes on the host testbed
/// (four validators and three etcd members, each in a network namespace of
/// its own) taken through seeded rounds of faults while a load runs, each
/// round checked before the next (see ``FaultCampaign/play(_:tally:generator:)``).
///
/// Runs only with `DSMR_CAMPAIGN_ROUNDS` set to the number of rounds (CI
/// runs eight, one of each fault; `Tools/campaign/run.sh` runs long ones);
/// `DSMR_CAMPAIGN_SEED` replays a campaign's decisions (the seed is printed
/// first, and with every problem); `DSMR_CAMPAIGN_FAULTS` (names of
/// ``CampaignFault`` cases, comma-separated) keeps to those faults. Needs root: namespaces, nftables and
/// tmpfs mounts.
@Suite(
    "fault campaign", .serialized,
    .enabled(if: CampaignSettings.rounds != nil, "set DSMR_CAMPAIGN_ROUNDS to a number of rounds"),
    .enabled(if: HostTestbed.unavailableReason() == nil, "needs root, ip, nft, tc and ip netns add"),
    .enabled(if: TmpfsProbe.canMount, "this process cannot mount a tmpfs"))
struct FaultCampaignTests {
    @Test func seededFaultsLoseNothingChangeNoBlockAndEveryValidatorComesBack() async throws {
        let seed = CampaignSettings.seed
        let rounds = CampaignRound.plan(
            seed: seed, count: CampaignSettings.rounds ?? 8, validators: FaultCampaign.validators,
            etcdMembers: FaultCampaign.etcdMembers, faults: try CampaignSettings.faults())
        print("campaign: seed \(seed) (DSMR_CAMPAIGN_SEED=\(seed) replays it), \(rounds.count) rounds:")
        for round in rounds { print("campaign:   \(round)") }

        let scratch = try scratchDirectory("campaign")
        defer { scratch.remove() }
        let testbed = try HostTestbed.create(hosts: FaultCampaign.etcdMembers + FaultCampaign.validators)
        defer { testbed.tearDown() }
        let plan = DelayPlan()
        var relays: [DelayRelay] = []
        for index in 0..<FaultCampaign.validators {
            let host = testbed.hosts[FaultCampaign.host(of: index)]
            relays.append(
                try await DelayRelay(
                    listen: testbed.gateway, to: (host.address, DevnetLayout.hostPeerPort), plan: plan))
        }
        var options = try devnetOptions(scratch.path, validators: FaultCampaign.validators, load: nil)
        options.ordering = .etcd
        options.etcdMembers = FaultCampaign.etcdMembers
        options.etcdHosts = (0..<FaultCampaign.etcdMembers).map(testbed.placement)
        options.validatorHosts = (0..<FaultCampaign.validators).map {
            testbed.placement(FaultCampaign.host(of: $0))
        }
        options.peerAddresses = relays.map { "\(testbed.gateway):\($0.port)" }
        options.restartDied = true
        options.snapshotInterval = 16
        options.drainTimeout = .seconds(60)
        let disks = try await FaultCampaign.mountDisks(devnetDirectory: options.directory)
        defer { FaultCampaign.unmountDisks(disks) }

        var tally = CampaignTally()
        var failed: CampaignRound?
        do {
            try await withDevnet(options) { devnet in
                let campaign = FaultCampaign(devnet: devnet, testbed: testbed, plan: plan, relays: relays)
                var generator = SeededGenerator(seed: seed ^ 0x0005_EED0_F0C4_EC45)
                _ = try await devnet.runLoad(rate: FaultCampaign.rate, duration: .seconds(2)) { _ in }
                for round in rounds {
                    print("campaign: \(round)")
                    let problems = try await campaign.play(round, tally: &tally, generator: &generator)
                    for problem in problems {
                        Issue.record("seed \(seed), \(round): \(problem)")
                    }
                    if !problems.isEmpty {
                        failed = round
                        break
                    }
                }
            }
        } catch {
            for relay in relays { await relay.close() }
            throw TestFailure("seed \(seed): \(error)")
        }
        for relay in relays { await relay.close() }
        print("campaign: what it survived\(failed.map { " (until round \($0.number) failed)" } ?? ""):")
        print(tally.table(seed: seed))
    }
}

/// The campaign's size and seed, from the environment.
enum CampaignSettings {
    /// `DSMR_CAMPAIGN_ROUNDS`: how many rounds; nil skips the campaign.
    static var rounds: Int? { ProcessInfo.processInfo.environment["DSMR_CAMPAIGN_ROUNDS"].flatMap { Int($0) } }

    /// `DSMR_CAMPAIGN_FAULTS`: the faults to draw from (case names,
    /// comma-separated), every kind when unset.
    static func faults() throws -> [CampaignFault] {
        guard let names = ProcessInfo.processInfo.environment["DSMR_CAMPAIGN_FAULTS"], !names.isEmpty else {
            return CampaignFault.allCases
        }
        let known = Dictionary(uniqueKeysWithValues: CampaignFault.allCases.map { ("\($0)", $0) })
        return try names.split(separator: ",").map { name in
            guard let fault = known[name.trimmingCharacters(in: .whitespaces)] else {
                throw TestFailure(
                    "DSMR_CAMPAIGN_FAULTS: no fault \"\(name)\" (known: \(known.keys.sorted().joined(separator: ", ")))"
                )
            }
            return fault
        }
    }

    /// `DSMR_CAMPAIGN_SEED`, or a fresh random seed.
    static let seed: UInt64 =
        ProcessInfo.processInfo.environment["DSMR_CAMPAIGN_SEED"].flatMap { UInt64($0) } ?? .random(in: 0...UInt64.max)
}
