import ChunkStore
import DSMR
import DSMRNode
import DemoVM
import Testing

@Suite struct ChunkBuilderTests {
    @Test func emptyMempoolBuildsNothingAndEachTransactionLandsInItsValidatorsChunkOnly() async throws {
        let cluster = Cluster()
        try await cluster.startAll()
        defer { cluster.stopAll() }
        cluster.clock.advance(by: 1_000)
        for node in cluster.live { #expect(try await node.buildChunk() == nil) }
        cluster.submitTransfers(16)
        var carried: [[UInt8]] = []
        for node in cluster.live {
            guard let built = try await node.buildChunk() else { continue }
            #expect(built.certificate != nil)
            let set = try cluster.schedule.validators(epoch: 0)
            for bytes in built.chunk.transactions {
                let transfer = try Transfer(decoding: bytes)
                #expect(TransactionPartition.validator(for: transfer.sponsor, in: set) == node.nodeID)
            }
            carried += built.chunk.transactions
            // What was not this node's was dropped from its mempool; what was is in the chunk.
            #expect(node.mempool.count == 0)
        }
        #expect(carried.count == 16 && Set(carried).count == 16)
    }

    @Test func belowQuorumCertificateIsNeverStoredOrGossiped() async throws {
        let cluster = Cluster()
        // Two of four validators are down: the builder asks until this deadline
        // (long enough for node 1's share on a loaded machine).
        cluster.options.aggregationDeadline = .seconds(3)
        try await cluster.startAll()
        defer { cluster.stopAll() }
        cluster.stop(2)
        cluster.stop(3)
        cluster.clock.advance(by: 1_000)
        let builder = try #require(cluster.nodes[0])
        // Transfers of every user: some are node 0's.
        cluster.submitTransfers(16)
        let built = try #require(try await builder.buildChunk())
        #expect(built.certificate == nil)
        // Its own share, and node 1's unless it came after the deadline on a loaded machine.
        #expect(built.signedWeight == 10 || built.signedWeight == 20)
        let reference = ChunkReference(chunk: built.chunk, rules: Fixture.clusterRules)
        #expect(try builder.store.certificate(for: reference) == nil)
        #expect(try cluster.nodes[1]!.store.certificate(for: reference) == nil)
        // Its transactions go back to the mempool for a later chunk.
        #expect(builder.mempool.count == built.chunk.transactions.count)
        // No certificate goes into a block: a slot after its parent, the block carries none.
        let now = cluster.clock.now().milliseconds
        #expect(try builder.buildBlock(parent: builder.lastAccepted, timestamp: now).certificates.isEmpty)
        do {
            _ = try builder.buildBlock(parent: builder.lastAccepted, timestamp: now - 1)
            Issue.record("built a block without a certificate less than a slot after its parent")
        } catch let error as NodeError {
            #expect(error.code == .noAvailableCertificates)
        }
    }
}

@Suite struct ChainTimeLagTests {
    @Test func chunksAreBuiltForASlotPeersAcceptWhenChainTimeLagsTheClock() async throws {
        let cluster = Cluster()
        try await cluster.startAll()
        defer { cluster.stopAll() }
        for _ in 0..<3 { #expect(try await cluster.round(transfers: 8) != nil) }
        // The chain sits idle for a minute of the clock: a chunk of the current slot would expire
        // after chain time + validityWindow and be refused; the builders pick a slot peers accept.
        cluster.clock.advance(by: 60_000)
        for _ in 0..<3 { #expect(try await cluster.round(transfers: 8) != nil) }
        let tip = cluster.accepted.last!.height
        #expect(tip == 6)
        try cluster.expectAgreement(through: tip)
        for (index, user) in cluster.users.enumerated() {
            #expect(try cluster.vms[0]!.account(user.publicKey).nonce == cluster.nonces[index])
        }
    }
}
