import ChunkStore
import DSMR
import DSMRNode
import Synchronization
import Testing

/// A validator that never answers: each request waits until its asker gives up (and cancels it).
struct SilentHandler: MessageHandler {
    func handleRequest(_ request: [UInt8], from peer: NodeID) async -> [UInt8] {
        try? await Task.sleep(for: .seconds(7_200))
        return []
    }

    func handleGossip(_ message: [UInt8], from peer: NodeID) async {}
}

/// A validator whose first answer to a share request is `first` (made from
/// the chunk asked about); every later request goes to its real server.
final class FirstAnswerHandler: MessageHandler {
    let inner: any MessageHandler
    let first: @Sendable (Chunk) -> NodeMessage
    private let answered = Mutex(0)

    init(inner: any MessageHandler, first: @escaping @Sendable (Chunk) -> NodeMessage) {
        self.inner = inner
        self.first = first
    }

    /// How many share requests reached this validator.
    var requests: Int { answered.withLock { $0 } }

    func handleRequest(_ request: [UInt8], from peer: NodeID) async -> [UInt8] {
        guard case .requestChunkSignatureShare(let chunk)? = try? NodeMessage(decoding: request) else {
            return await inner.handleRequest(request, from: peer)
        }
        let number = answered.withLock { count in
            defer { count += 1 }
            return count
        }
        if number == 0 { return first(chunk).encoded() }
        return await inner.handleRequest(request, from: peer)
    }

    func handleGossip(_ message: [UInt8], from peer: NodeID) async {
        await inner.handleGossip(message, from: peer)
    }
}

/// The value of `body`, or nil when it takes longer than `limit`; `body`
/// is then cancelled but not waited for, so a body that ignores
/// cancellation cannot hold the test.
func within<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async -> T? {
    let (stream, continuation) = AsyncStream.makeStream(of: T?.self)
    let work = Task { continuation.yield(try? await body()) }
    let timer = Task {
        try? await Task.sleep(for: limit)
        continuation.yield(nil)
    }
    var results = stream.makeAsyncIterator()
    let first = await results.next() ?? nil
    work.cancel()
    timer.cancel()
    continuation.finish()
    return first
}

@Suite struct ShareGatheringTests {
    /// Nodes 0–2 of a cluster run; validator 3 is silent: its requests never get an answer.
    func clusterWithASilentValidator(shareTimeout: Duration, deadline: Duration) async throws -> Cluster {
        let cluster = Cluster()
        cluster.options.shareTimeout = shareTimeout
        cluster.options.aggregationDeadline = deadline
        for index in 0...2 { try await cluster.start(index) }
        cluster.network.transport(for: Fixture.signers[3].nodeID).register(SilentHandler())
        cluster.clock.advance(by: 1_000)
        cluster.submitTransfers(16)
        return cluster
    }

    @Test func quorumWithOneSilentValidatorIsDoneWithoutWaitingForIt() async throws {
        // The silent validator's request would time out only after an hour; the quorum of the
        // other three is there at once, and the builder stops there.
        let cluster = try await clusterWithASilentValidator(shareTimeout: .seconds(3_600), deadline: .seconds(7_200))
        defer { cluster.stopAll() }
        let builder = try #require(cluster.nodes[0])
        let built = await within(.seconds(60)) { try await builder.buildChunk() }
        let chunk = try #require(built ?? nil, "no chunk certified within a minute")
        let certificate = try #require(chunk.certificate)
        #expect(chunk.signedWeight == 30)
        let set = try cluster.schedule.validators(epoch: 0)
        #expect(try !certificate.signerIDs(in: set).contains(Fixture.signers[3].nodeID))
    }

    /// First answers that cost the validator one request only.
    enum FirstAnswer: String, CaseIterable, Sendable {
        case conflicting, invalid, badSignature, otherSigner, otherReference
    }

    @Test(arguments: FirstAnswer.allCases)
    func validatorWhoseFirstAnswerIsUselessStillSignsInTheNextRound(_ kind: FirstAnswer) async throws {
        // With validator 3 silent, the quorum needs validator 2, whose first answer is useless.
        let cluster = try await clusterWithASilentValidator(shareTimeout: .seconds(2), deadline: .seconds(20))
        defer { cluster.stopAll() }
        let builder = try #require(cluster.nodes[0])
        let flaky = try #require(cluster.nodes[2])
        let rules = cluster.rules
        let handler = FirstAnswerHandler(inner: flaky.server) { chunk in
            let reference = ChunkReference(chunk: chunk, rules: rules)
            func share(_ reference: ChunkReference, by signer: Ed25519Signer) -> SignatureShare {
                try! SignatureShare.sign(reference, rules: rules, signer: signer, domain: Fixture.domain)
            }
            switch kind {
            case .conflicting:
                return .error(ErrorReply(.conflicting, "another chunk was signed for this slot"))
            case .invalid:
                return .error(ErrorReply(.invalid, "bad"))
            case .badSignature:
                var forged = share(reference, by: Fixture.signers[2])
                forged.signature = [UInt8](repeating: 7, count: 64)
                return .chunkSignature(forged)
            case .otherSigner:
                return .chunkSignature(share(reference, by: Fixture.signers[1]))
            case .otherReference:
                var other = reference
                other.chunkID = .zero
                return .chunkSignature(share(other, by: Fixture.signers[2]))
            }
        }
        cluster.network.transport(for: Fixture.signers[2].nodeID).register(handler)
        let built = try #require(try await builder.buildChunk())
        #expect(built.certificate != nil, "\(kind): validator 2 was not asked again")
        #expect(handler.requests >= 2)
        #expect(built.signedWeight == 30)
    }
}
