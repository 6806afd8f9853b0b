import ChunkStore
import DSMR
import DSMRNode
import Testing

@Suite struct ByzantineTests {
    /// Nodes 1–3 run; validator 0's key is in the hands of a byzantine producer speaking through its transport.
    func honestCluster() async throws -> (Cluster, InProcessTransport) {
        let cluster = Cluster()
        for index in 1...3 { try await cluster.start(index) }
        cluster.clock.set(.milliseconds(12_000))
        return (cluster, cluster.network.transport(for: Fixture.signers[0].nodeID))
    }

    func ask(_ transport: InProcessTransport, _ peer: Int, _ chunk: Chunk) async throws -> NodeMessage {
        let request = NodeMessage.requestChunkSignatureShare(chunk).encoded()
        return try NodeMessage(
            decoding: try await transport.request(request, to: Fixture.signers[peer].nodeID, timeout: .seconds(30)))
    }

    func isShare(_ message: NodeMessage) -> Bool {
        if case .chunkSignature = message { return true }
        return false
    }

    func refusal(_ message: NodeMessage) -> ErrorReply.Code? {
        if case .error(let reply) = message { return reply.code }
        return nil
    }

    @Test func twoChunksForOneSlotToTwoHalvesCertifyAtMostOneAndHonestNodesHoldEvidence() async throws {
        let (cluster, byzantine) = try await honestCluster()
        defer { cluster.stopAll() }
        let producer = Fixture.signers[0]
        let a = Fixture.chunk(producer, slot: 12, payload: [0xA])
        let b = Fixture.chunk(producer, slot: 12, payload: [0xB])
        // Half the network sees A, the other half B.
        var shares: [ChunkID: [SignatureShare]] = [a.id: [], b.id: []]
        for (peer, chunk) in [(1, a), (2, b), (3, b)] {
            if case .chunkSignature(let share) = try await ask(byzantine, peer, chunk) {
                shares[chunk.id]!.append(share)
            }
        }
        // Then each half is offered the other chunk: refused as conflicting.
        for (peer, chunk) in [(1, b), (2, a), (3, a)] {
            #expect(refusal(try await ask(byzantine, peer, chunk)) == .conflicting)
        }
        let set = try cluster.schedule.validators(epoch: 0)
        var certified = 0
        for chunk in [a, b] {
            let own = try SignatureShare.sign(
                ChunkReference(chunk: chunk, rules: Fixture.rules), rules: Fixture.rules, signer: producer,
                domain: Fixture.domain)
            if (try? ChunkCertificate.aggregate(
                reference: own.reference, shares: shares[chunk.id]! + [own], validators: set, rules: Fixture.rules))
                != nil
            {
                certified += 1
            }
        }
        #expect(certified <= 1)
        for index in 1...3 {
            let evidence = try cluster.nodes[index]!.store.evidence()
            #expect(evidence.count == 1)
            #expect(evidence.first?.producer == producer.nodeID && evidence.first?.slot == 12)
        }
    }

    @Test func nonValidatorSigningInAValidatorsNameGetsNoShareFromAnyNode() async throws {
        let (cluster, _) = try await honestCluster()
        defer { cluster.stopAll() }
        let outsider = cluster.network.transport(for: Fixture.outsider.nodeID)
        let genuine = Fixture.chunk(Fixture.outsider, slot: 12)
        let impostor = try Chunk(
            producer: Fixture.signers[0].nodeID, beneficiary: Fixture.outsider.nodeID, slot: 12,
            transactions: genuine.transactions, signature: genuine.signature)
        for peer in 1...3 {
            #expect(refusal(try await ask(outsider, peer, impostor)) == .invalid)
            #expect(refusal(try await ask(outsider, peer, genuine)) == .notAValidator)
        }
    }

    @Test func producerOverItsRateLimitGetsNoShares() async throws {
        let (cluster, byzantine) = try await honestCluster()
        defer { cluster.stopAll() }
        cluster.clock.set(.milliseconds(13_000))
        let payload = [UInt8](repeating: 3, count: 7_000)
        // 40 000 units a window (slots 10–19): five 7 kB chunks fit, the sixth does not.
        for slot: UInt64 in 10..<15 {
            for peer in 1...3 {
                #expect(
                    isShare(
                        try await ask(byzantine, peer, Fixture.chunk(Fixture.signers[0], slot: slot, payload: payload)))
                )
            }
        }
        for peer in 1...3 {
            #expect(
                refusal(try await ask(byzantine, peer, Fixture.chunk(Fixture.signers[0], slot: 15, payload: payload)))
                    == .rateLimited)
        }
    }
}
