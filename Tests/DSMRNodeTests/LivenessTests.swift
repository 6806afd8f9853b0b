import ChunkStore
import DSMR
import DSMRNode
import Testing

@Suite struct EmptyBlockTests {
    @Test func blockWithoutCertificatesIsValidOnlyASlotOrMoreAfterItsParent() async throws {
        let cluster = Cluster()
        try await cluster.startAll()
        defer { cluster.stopAll() }
        let node = try #require(cluster.nodes[0])
        let genesis = node.lastAccepted
        func empty(_ parent: Block, at timestamp: Int64) -> Block {
            Block(parent: parent.id, height: parent.height + 1, timestamp: timestamp, certificates: [])
        }
        // Slots are 1 000 ms; the genesis block is at 10 000.
        #expect(verificationCode(node, empty(genesis, at: 10_001), parent: genesis) == .emptyBlockTooSoon)
        #expect(verificationCode(node, empty(genesis, at: 10_999), parent: genesis) == .emptyBlockTooSoon)
        let first = empty(genesis, at: 11_000)
        #expect(verificationCode(node, first, parent: genesis) == nil)
        #expect(verificationCode(node, empty(genesis, at: 15_000), parent: genesis) == nil)
        // The usual timestamp rules still hold: at most maxBlockSkew (5 000) after the parent.
        #expect(verificationCode(node, empty(genesis, at: 15_001), parent: genesis) == .timestampTooFarAhead)
        // One a slot: the next is a slot after the first.
        #expect(verificationCode(node, empty(first, at: 11_999), parent: first) == .emptyBlockTooSoon)
        #expect(verificationCode(node, empty(first, at: 12_000), parent: first) == nil)
        // Parent and height are checked as for any block.
        let stray = Block(parent: .zero, height: 1, timestamp: 11_000, certificates: [])
        #expect(verificationCode(node, stray, parent: genesis) == .wrongParent)
        let high = Block(parent: genesis.id, height: 2, timestamp: 11_000, certificates: [])
        #expect(verificationCode(node, high, parent: genesis) == .wrongHeight)
    }

    @Test func buildBlockMakesABlockWithoutCertificatesOnlyWhenNoneCanGoInAndTheParentIsASlotOld() async throws {
        let cluster = Cluster()
        try await cluster.startAll()
        defer { cluster.stopAll() }
        let node = try #require(cluster.nodes[0])
        let genesis = node.lastAccepted
        do {
            _ = try node.buildBlock(parent: genesis, timestamp: 10_999)
            Issue.record("built a block without certificates less than a slot after its parent")
        } catch let error as NodeError {
            #expect(error.code == .noAvailableCertificates)
        }
        let empty = try node.buildBlock(parent: genesis, timestamp: 11_000)
        #expect(empty.certificates.isEmpty && empty.height == 1 && empty.parent == genesis.id)
        try node.verify(block: empty, parent: genesis)
        // With a certificate held, it goes in: a block without certificates never displaces one.
        let held = Fixture.certificate(Fixture.chunk(Fixture.signers[1], slot: 10))
        try await node.store.addCertificate(held)
        #expect(try node.buildBlock(parent: genesis, timestamp: 11_000).certificates == [held])
    }

    @Test func slotEveryProducerFailedToCertifyIsFollowedByTheNextAndTheChainExecutes() async throws {
        let cluster = Cluster()
        cluster.options.shareTimeout = .seconds(2)
        cluster.options.aggregationDeadline = .seconds(4)
        try await cluster.startAll()
        defer { cluster.stopAll() }
        // A chain that certifies (on a loaded machine a first round may miss its deadline and
        // its block then carries no certificate).
        var certified = try await cluster.round(transfers: 8)
        for _ in 0..<4 where certified?.certificates.isEmpty != false { certified = try await cluster.round() }
        #expect(certified?.certificates.isEmpty == false)
        // The chain sits idle while the clock runs on: chain time lags, so every builder takes
        // the same slot (the latest peers accept) until a block moves chain time.
        cluster.clock.advance(by: 60_000)
        cluster.submitTransfers(16)
        // Every message is lost while the producers try that slot: none certifies.
        cluster.network.setFaults(FaultPlan(dropPerMille: 1_000))
        var producers: [Node] = []
        for node in cluster.live {
            guard let built = try await node.buildChunk() else { continue }
            #expect(built.certificate == nil)
            producers.append(node)
        }
        #expect(!producers.isEmpty)
        cluster.network.setFaults(.none)
        let failed = cluster.rules.slot(at: cluster.live[0].lastAccepted.timestamp + cluster.rules.maxBlockSkew)
        for node in producers {
            #expect(try node.store.signedChunk(producer: node.nodeID, slot: Slot(failed)) != nil)
        }
        // That slot is never tried again, and while chain time stands still there is no later one.
        for node in cluster.live { #expect(try await node.buildChunk() == nil) }
        // A block without certificates moves chain time; the next slot then certifies.
        var blocks: [Block] = []
        for _ in 0..<6 {
            if let block = try await cluster.round() { blocks.append(block) }
            let executed = try cluster.users.indices.allSatisfy { index in
                try cluster.vms[0]!.account(cluster.users[index].publicKey).nonce == cluster.nonces[index]
            }
            if executed { break }
        }
        let empty = try #require(blocks.first, "no block after the failed slot")
        #expect(empty.certificates.isEmpty)
        #expect(blocks.dropFirst().contains { !$0.certificates.isEmpty })
        let tip = try #require(cluster.accepted.last).height
        try cluster.expectAgreement(through: tip)
        for (index, user) in cluster.users.enumerated() {
            #expect(try cluster.vms[0]!.account(user.publicKey).nonce == cluster.nonces[index])
        }
        // Executing a block without certificates runs the state machine on no transactions.
        let node = cluster.live[0]
        #expect(try node.store.stateRoot(at: empty.height) == node.store.stateRoot(at: empty.height - 1))
    }
}
