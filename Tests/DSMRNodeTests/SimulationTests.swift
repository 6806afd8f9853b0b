import ChunkStore
import DSMR
import DSMRNode
import Foundation
import Testing

/// Seeded runs with lost, delayed, duplicated and reordered messages and a
/// partition. `DSMR_SIMULATION_SEEDS` sets how many seeds run (2 by default).
@Suite(.serialized) struct SimulationTests {
    static let seeds: [UInt64] = {
        let count = ProcessInfo.processInfo.environment["DSMR_SIMULATION_SEEDS"].flatMap { Int($0) } ?? 2
        return (0..<UInt64(max(count, 1))).map { 1_000 + $0 }
    }()

    @Test(arguments: seeds)
    func faultyNetworkKeepsTheInvariants(seed: UInt64) async throws {
        let faults = FaultPlan(dropPerMille: 40, duplicatePerMille: 40, delayPerMille: 150, maxDelay: .milliseconds(4))
        let cluster = Cluster(seed: seed, faults: faults)
        cluster.options.shareTimeout = .milliseconds(300)
        cluster.options.fetchTimeout = .milliseconds(300)
        cluster.options.aggregationDeadline = .milliseconds(1_500)
        cluster.gossipWait = .milliseconds(300)
        try await cluster.startAll()
        defer { cluster.stopAll() }
        var generator = SeededGenerator(seed: seed)
        for round in 0..<8 {
            if round == 3 {
                // A seeded node is cut off for two rounds.
                let cut = Int(generator.next() % 4)
                let others = cluster.signers.indices.filter { $0 != cut }.map { cluster.signers[$0].nodeID }
                cluster.network.partition([others, [cluster.signers[cut].nodeID]])
            }
            if round == 5 { cluster.network.heal() }
            try await cluster.round(transfers: 8, leader: round % 4, tolerateUnavailable: true)
        }
        // Let the network settle, then every node executes what it accepted.
        cluster.network.heal()
        cluster.network.setFaults(.none)
        for node in cluster.live { try await node.executePending() }

        // Nothing accepted is lost: every node holds every block and executed it.
        let tip = try #require(cluster.accepted.last).height
        for node in cluster.live {
            #expect(try node.store.acceptedTip()?.height == tip)
            #expect(try node.store.executedTip() == tip)
            for block in cluster.accepted {
                #expect(try node.store.block(at: block.height) == block)
                for certificate in block.certificates { #expect(try node.store.chunk(certificate.reference) != nil) }
            }
        }
        try cluster.expectAgreement(through: tip)

        // No two certificates for one producer and slot, anywhere.
        var certified: [String: Set<ChunkID>] = [:]
        var all = cluster.accepted.flatMap(\.certificates)
        for node in cluster.live { all += try node.store.certificates(validAt: .milliseconds(0)) }
        for certificate in all {
            certified["\(certificate.reference.producer)/\(certificate.reference.slot)", default: []]
                .insert(certificate.reference.chunkID)
        }
        #expect(certified.values.allSatisfy { $0.count == 1 })
        #expect(cluster.network.counts.dropped > 0)
    }
}
