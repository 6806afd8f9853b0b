import ChunkStore
import DSMR
import DSMRNode
import DSMRTestSupport
import Synchronization
import Testing

/// The node core tells the transport what a peer sent that no honest
/// validator sends (``PeerOffence``), naming the peer that sent it, and
/// never charges timing or refusals.
@Suite struct PeerOffenceTests {
    /// Offences a chunk server reported, in order.
    final class Recorder: Sendable {
        let offences = Mutex<[(NodeID, PeerOffence)]>([])
        var all: [(NodeID, PeerOffence)] { offences.withLock { $0 } }
        func record(_ peer: NodeID, _ offence: PeerOffence) { offences.withLock { $0.append((peer, offence)) } }
    }

    /// A chunk server over a new store in `path` that reports offences to `recorder`.
    func server(_ path: String, _ recorder: Recorder) throws -> ChunkServer {
        let store = try ChunkStore(Fixture.configuration(path, signer: Fixture.signers[0]))
        return ChunkServer(
            store: store, validators: ValidatorSchedule(initial: Fixture.validators(), rules: Fixture.rules),
            chainTime: try ChainTimeSource(store: store), clock: ManualClock(),
            penalize: { recorder.record($0, $1) })
    }

    func reply(_ bytes: [UInt8]) -> ErrorReply.Code? {
        guard case .error(let reply)? = try? NodeMessage(decoding: bytes) else { return nil }
        return reply.code
    }

    @Test func aShareRequestWithABadProducerSignatureIsTheRequestersOffence() async throws {
        try await withTemporaryDirectory { path in
            let recorder = Recorder()
            let server = try server(path, recorder)
            let producer = Fixture.signers[1]
            let genuine = Fixture.chunk(producer, slot: 2)
            var signature = genuine.signature
            signature[0] ^= 1
            let forged = try Chunk(
                producer: producer.nodeID, beneficiary: producer.nodeID, slot: 2, transactions: genuine.transactions,
                signature: signature)
            let answer = await server.handleRequest(
                NodeMessage.requestChunkSignatureShare(forged).encoded(), from: producer.nodeID)
            #expect(reply(answer) == .invalid)
            #expect(recorder.all.map(\.0) == [producer.nodeID])
            #expect(recorder.all.map(\.1) == [.invalidSignature])

            // The genuine chunk is signed, and costs nothing.
            let signed = await server.handleRequest(
                NodeMessage.requestChunkSignatureShare(genuine).encoded(), from: producer.nodeID)
            guard case .chunkSignature? = try? NodeMessage(decoding: signed) else {
                Issue.record(
                    "the genuine chunk was not signed: \(String(describing: try? NodeMessage(decoding: signed)))")
                return
            }
            #expect(recorder.all.count == 1)
        }
    }

    @Test func timingAndRefusalsAreNotOffences() async throws {
        try await withTemporaryDirectory { path in
            let recorder = Recorder()
            let server = try server(path, recorder)
            let producer = Fixture.signers[1]
            // Far ahead of chain time (0): refused as too far in the future.
            let ahead = await server.handleRequest(
                NodeMessage.requestChunkSignatureShare(Fixture.chunk(producer, slot: 500)).encoded(),
                from: producer.nodeID)
            #expect(reply(ahead) == .tooFarInFuture)
            // A second chunk for a slot already signed: a conflict, kept as evidence, not charged here.
            _ = await server.handleRequest(
                NodeMessage.requestChunkSignatureShare(Fixture.chunk(producer, slot: 2, payload: [1])).encoded(),
                from: producer.nodeID)
            let conflict = await server.handleRequest(
                NodeMessage.requestChunkSignatureShare(Fixture.chunk(producer, slot: 2, payload: [2])).encoded(),
                from: producer.nodeID)
            #expect(reply(conflict) == .conflicting)
            // A chunk the server does not hold.
            let missing = await server.handleRequest(
                NodeMessage.requestChunk(Fixture.chunk(producer, slot: 3).id, expiry: 13_000).encoded(),
                from: producer.nodeID)
            #expect(reply(missing) == .notAvailable)
            // A certificate outside the window.
            let late = Fixture.certificate(Fixture.chunk(producer, slot: 900))
            await server.handleGossip(NodeMessage.certificateGossip(late).encoded(), from: producer.nodeID)
            #expect(recorder.all.isEmpty, "\(recorder.all)")
        }
    }

    @Test func undecodableOrMisplacedMessagesAreInvalidMessages() async throws {
        try await withTemporaryDirectory { path in
            let recorder = Recorder()
            let server = try server(path, recorder)
            let peer = Fixture.signers[2].nodeID
            #expect(reply(await server.handleRequest([0xFF, 1, 2], from: peer)) == .malformed)
            // Gossip sent as a request, and a request sent as gossip.
            let certificate = Fixture.certificate(Fixture.chunk(Fixture.signers[1], slot: 2))
            let gossip = NodeMessage.certificateGossip(certificate).encoded()
            #expect(reply(await server.handleRequest(gossip, from: peer)) == .malformed)
            await server.handleGossip(
                NodeMessage.requestChunk(certificate.reference.chunkID, expiry: 12_000).encoded(), from: peer)
            await server.handleGossip([0xFF], from: peer)
            #expect(recorder.all.map(\.0) == [peer, peer, peer, peer])
            #expect(recorder.all.map(\.1) == [.invalidMessage, .invalidMessage, .invalidMessage, .invalidMessage])
        }
    }

    @Test func aGossipedCertificateThatDoesNotVerifyIsTheGossipersOffence() async throws {
        try await withTemporaryDirectory { path in
            let recorder = Recorder()
            let server = try server(path, recorder)
            let gossiper = Fixture.signers[3].nodeID
            let certificate = Fixture.certificate(Fixture.chunk(Fixture.signers[1], slot: 2))
            var signatures = certificate.signatures
            signatures[1][5] ^= 0x40
            let forged = try ChunkCertificate(
                reference: certificate.reference, epoch: certificate.epoch, signers: certificate.signers,
                signatures: signatures)
            await server.handleGossip(NodeMessage.certificateGossip(forged).encoded(), from: gossiper)
            await server.handleGossip(
                NodeMessage.certificateGossip(Fixture.oneSignerShort(certificate)).encoded(), from: gossiper)
            #expect(recorder.all.map(\.0) == [gossiper, gossiper])
            #expect(recorder.all.map(\.1) == [.invalidSignature, .invalidSignature])
            #expect(try server.store.certificate(for: certificate.reference) == nil)
            // The genuine one is kept at no charge.
            await server.handleGossip(NodeMessage.certificateGossip(certificate).encoded(), from: gossiper)
            #expect(recorder.all.count == 2)
            #expect(try server.store.certificate(for: certificate.reference) != nil)
        }
    }

    @Test func aShareWithABadSignatureIsTheSignersOffenceInShareGathering() async throws {
        let cluster = Cluster()
        // Generous, so a loaded machine still reads the forger's answers before the deadline.
        cluster.options.shareTimeout = .seconds(8)
        cluster.options.aggregationDeadline = .seconds(8)
        try await cluster.startAll()
        defer { cluster.stopAll() }
        let producer = try #require(cluster.nodes[0])
        let forger = cluster.signers[1]
        // The forger answers every share request with its share, one bit flipped; the fourth
        // validator is down, so the quorum needs the forger and every answer is read.
        cluster.network.transport(for: forger.nodeID).register(FlippedShareHandler(signer: forger))
        cluster.network.crash(cluster.signers[3].nodeID)
        cluster.submitTransfers(4)
        let built = try await producer.buildChunk()
        #expect(built != nil && built?.certificate == nil)
        let charged = cluster.network.offences(reportedBy: producer.nodeID, against: forger.nodeID)
        #expect(!charged.isEmpty && charged.allSatisfy { $0 == .invalidSignature }, "\(charged)")
        #expect(cluster.network.offences(reportedBy: producer.nodeID, against: cluster.signers[2].nodeID).isEmpty)
    }
}

/// Answers share requests with a share whose signature has one bit flipped.
struct FlippedShareHandler: MessageHandler {
    let signer: Ed25519Signer

    func handleRequest(_ request: [UInt8], from peer: NodeID) async -> [UInt8] {
        guard case .requestChunkSignatureShare(let chunk)? = try? NodeMessage(decoding: request),
            let share = try? SignatureShare.sign(
                ChunkReference(chunk: chunk, rules: Fixture.clusterRules), rules: Fixture.clusterRules,
                signer: signer, domain: Fixture.domain)
        else { return NodeMessage.error(ErrorReply(.malformed, "not a share request")).encoded() }
        var flipped = share
        flipped.signature[0] ^= 1
        return NodeMessage.chunkSignature(flipped).encoded()
    }

    func handleGossip(_ message: [UInt8], from peer: NodeID) async {}
}
