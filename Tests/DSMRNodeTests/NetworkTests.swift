import ChunkStore
import DSMR
import DSMRNode
import DemoVM
import Synchronization
import Testing

@Suite(.serialized) struct NetworkTests {
    @Test func fourValidatorsExecuteTheSameTransactionsInTheSameOrder() async throws {
        let cluster = Cluster()
        try await cluster.startAll()
        defer { cluster.stopAll() }
        for _ in 0..<5 { try await cluster.round(transfers: 24) }
        let tip = cluster.live[0].lastAccepted.height
        #expect(tip >= 4)
        for node in cluster.live {
            #expect(try node.store.executedTip() == tip)
        }
        try cluster.expectAgreement(through: tip)
        // Every transfer executed exactly once: each user's nonce is the number it sent.
        for (index, user) in cluster.users.enumerated() {
            for vm in cluster.vms.compactMap({ $0 }) {
                #expect(try vm.account(user.publicKey).nonce == cluster.nonces[index])
            }
        }
    }

    @Test func oneValidatorDownCertificatesStillFormAndItCatchesUpOnRejoining() async throws {
        let cluster = Cluster()
        try await cluster.startAll()
        defer { cluster.stopAll() }
        try await cluster.round(transfers: 16)
        cluster.stop(3)
        for _ in 0..<3 {
            let block = try #require(try await cluster.round(transfers: 16))
            for certificate in block.certificates { #expect(certificate.signers.count == 3) }
        }
        try await cluster.start(3)
        try await cluster.catchUp(3)
        try cluster.expectAgreement(through: cluster.accepted.last!.height)
    }

    @Test func nodeRestartedBetweenRecordingABlockAndExecutingItEndsWithTheSameRoot() async throws {
        let cluster = Cluster()
        try await cluster.startAll()
        defer { cluster.stopAll() }
        try await cluster.round(transfers: 16)
        cluster.stop(3)
        let block = try #require(try await cluster.round(transfers: 16))
        // Node 3 records the block, then stops before executing it.
        do {
            let store = try ChunkStore(cluster.configuration(3))
            try await store.recordAccepted(block)
            store.close()
        }
        try await cluster.start(3)
        let node = try #require(cluster.nodes[3])
        #expect(try node.store.executedTip() == block.height - 1)
        try await node.executePending()
        #expect(try node.store.executedTip() == block.height)
        try cluster.expectAgreement(through: block.height)
    }

    @Test func nodeStoppedAfterTheStateMachineCommittedButBeforeTheStoreRecordedIt() async throws {
        let cluster = Cluster()
        try await cluster.startAll()
        defer { cluster.stopAll() }
        try await cluster.round(transfers: 16)
        cluster.stop(3)
        let block = try #require(try await cluster.round(transfers: 16))
        do {
            let store = try ChunkStore(cluster.configuration(3))
            try await store.recordAccepted(block)
            store.close()
        }
        try await cluster.start(3)
        let node = try #require(cluster.nodes[3])
        // The state machine executes the block and commits; the store never hears of it.
        let parent = try #require(try node.store.block(at: block.height - 1))
        let parentRoot = try #require(try node.store.stateRoot(at: block.height - 1))
        let root = try await node.executor.execute(block, parent: parent, parentRoot: parentRoot)
        #expect(try cluster.vms[3]!.executedState()?.height == block.height)
        #expect(try node.store.executedTip() == block.height - 1)
        // Resuming records the state machine's root without applying the block twice.
        try await node.executePending()
        #expect(try node.store.stateRoot(at: block.height) == root)
        try cluster.expectAgreement(through: block.height)
    }

    @Test func chunksAreFetchedAtAcceptanceEvenFromSignersThatFirstAnswerWithAWrongChunk() async throws {
        let cluster = Cluster()
        try await cluster.startAll()
        defer { cluster.stopAll() }
        try await cluster.round(transfers: 8)
        // Node 3 takes part in nothing while the chunks are built...
        cluster.network.partition([cluster.signers.prefix(3).map(\.nodeID), [cluster.signers[3].nodeID]])
        let missed = cluster.nodes[3]!
        cluster.nodes[3] = nil
        let block = try #require(try await cluster.round(transfers: 16))
        cluster.nodes[3] = missed
        cluster.network.heal()
        // ...and every other node answers its first chunk request with another chunk.
        let decoy = Fixture.chunk(Fixture.signers[0], slot: 1)
        let liars = (0..<3).map { LyingOnce(cluster.nodes[$0]!.server, decoy: decoy) }
        for (index, liar) in liars.enumerated() {
            cluster.network.transport(for: cluster.signers[index].nodeID).register(liar)
        }
        for certificate in block.certificates {
            #expect(try missed.store.chunk(certificate.reference) == nil)
        }
        try missed.verify(block: block, parent: missed.lastAccepted)
        try await missed.accept(block)
        for certificate in block.certificates {
            #expect(try missed.store.chunk(certificate.reference)?.summary.status == .accepted)
        }
        #expect(liars.contains { $0.lied.withLock { $0 } })
        #expect(try missed.store.summary(of: decoy.id, expiry: Fixture.rules.expiry(ofSlot: 1)) == nil)
        try cluster.expectAgreement(through: block.height)
    }

    @Test func chunkNoSignerCanServeIsALoudErrorAndTheBlockStaysRecordedForRetry() async throws {
        let cluster = Cluster()
        try await cluster.startAll()
        defer { cluster.stopAll() }
        cluster.network.partition([cluster.signers.prefix(3).map(\.nodeID), [cluster.signers[3].nodeID]])
        let isolated = cluster.nodes[3]!
        cluster.nodes[3] = nil
        let block = try #require(try await cluster.round(transfers: 16))
        cluster.nodes[3] = isolated
        try isolated.verify(block: block, parent: isolated.lastAccepted)
        do {
            try await isolated.accept(block)
            Issue.record("accepted a block whose chunks no signer could serve")
        } catch let error as NodeError {
            #expect(error.code == .chunkUnavailable)
        }
        #expect(try isolated.store.acceptedTip()?.height == block.height)
        #expect(try isolated.store.executedTip() == block.height - 1)
        cluster.network.heal()
        try await isolated.executePending()
        try cluster.expectAgreement(through: block.height)
    }
}

/// Answers the first chunk request with a decoy chunk's bytes, then honestly.
final class LyingOnce: MessageHandler {
    let inner: ChunkServer
    let decoy: Chunk
    let lied = Mutex(false)

    init(_ inner: ChunkServer, decoy: Chunk) {
        self.inner = inner
        self.decoy = decoy
    }

    func handleRequest(_ request: [UInt8], from peer: NodeID) async -> [UInt8] {
        if case .requestChunk? = try? NodeMessage(decoding: request), !lied.withLock({ $0 }) {
            lied.withLock { $0 = true }
            return NodeMessage.chunk(decoy.encoded()).encoded()
        }
        return await inner.handleRequest(request, from: peer)
    }

    func handleGossip(_ message: [UInt8], from peer: NodeID) async { await inner.handleGossip(message, from: peer) }
}
