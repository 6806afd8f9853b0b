import DSMR
import DSMRNode
import Testing

@Suite struct EpochAndPartitionTests {
    @Test func validatorChangesTakeEffectAtTheNextEpoch() throws {
        let schedule = ValidatorSchedule(initial: Fixture.validators(), rules: Fixture.rules)
        let joining = Validator(publicKey: Fixture.outsider.publicKey, weight: 10)
        // 25 000 ms is in epoch 1: the change holds from epoch 2.
        #expect(
            schedule.change(at: .milliseconds(25_000), joining: [joining], leaving: [Fixture.signers[3].nodeID]) == 2)
        #expect(try schedule.validators(epoch: 1).contains(Fixture.signers[3].nodeID))
        #expect(try !schedule.validators(epoch: 1).contains(Fixture.outsider.nodeID))
        let two = try schedule.validators(epoch: 2)
        #expect(two.epoch == 2 && two.count == 4)
        #expect(two.contains(Fixture.outsider.nodeID) && !two.contains(Fixture.signers[3].nodeID))
        #expect(try schedule.validators(epoch: 9).validators == two.validators)
    }

    @Test func partitionFollowsStakeAndNodeIDOrder() throws {
        let heavy = Validator(publicKey: Fixture.signers[0].publicKey, weight: 90)
        let light = Validator(publicKey: Fixture.signers[1].publicKey, weight: 10)
        var counts: [NodeID: Int] = [:]
        for n in 0..<2_000 {
            let sponsor = [UInt8(n & 0xFF), UInt8(n >> 8)]
            let chosen = try TransactionPartition.validator(for: sponsor, among: [light, heavy])
            // The same on every node, whatever order the validators come in.
            #expect(try TransactionPartition.validator(for: sponsor, among: [heavy, light]) == chosen)
            counts[chosen, default: 0] += 1
        }
        #expect((1_650...1_950).contains(counts[heavy.nodeID] ?? 0))
        #expect((50...350).contains(counts[light.nodeID] ?? 0))
    }

    @Test func partitionOfAnEmptySetOrZeroWeightIsAnError() {
        #expect(throws: PartitionError.self) { try TransactionPartition.validator(for: [1], among: []) }
        let zero = Validator(publicKey: Fixture.signers[0].publicKey, weight: 0)
        do {
            _ = try TransactionPartition.validator(for: [1], among: [zero])
            Issue.record("assigned a transaction among validators of no weight")
        } catch {
            #expect(error.code == .zeroWeight)
        }
    }

    @Test func validatorLeavingAtAnEpochBoundaryNoLongerSignsAndTheChainGoesOn() async throws {
        let cluster = Cluster()
        try await cluster.startAll()
        defer { cluster.stopAll() }
        try await cluster.round(transfers: 8)
        let leaving = Fixture.signers[3].nodeID
        let epochOne = cluster.schedule.change(at: cluster.clock.now(), leaving: [leaving])
        #expect(epochOne == 1)
        var sawNewEpoch = false
        // Genesis is at 10 000 ms; epoch 1 starts at 20 000.
        for _ in 0..<14 {
            guard let block = try await cluster.round(transfers: 8) else { continue }
            for certificate in block.certificates where certificate.epoch == 1 {
                sawNewEpoch = true
                let set = try cluster.schedule.validators(epoch: 1)
                #expect(set.count == 3)
                #expect(certificate.signers.count == 3)
                #expect(certificate.reference.producer != leaving)
            }
        }
        #expect(sawNewEpoch)
        // The validator that left still follows the chain.
        try cluster.expectAgreement(through: cluster.accepted.last!.height)
    }
}
