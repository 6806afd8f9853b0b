import ChunkStore
import DSMR
import DSMRNode
import Synchronization
import Testing

/// Serves one chunk after a pause, counting the requests.
final class CountingChunkServer: MessageHandler {
    let chunk: Chunk
    let requests = Mutex(0)
    init(_ chunk: Chunk) { self.chunk = chunk }
    func handleRequest(_ request: [UInt8], from peer: NodeID) async -> [UInt8] {
        requests.withLock { $0 += 1 }
        try? await Task.sleep(for: .milliseconds(20))
        return NodeMessage.chunk(chunk.encoded()).encoded()
    }
    func handleGossip(_ message: [UInt8], from peer: NodeID) async {}
}

@Suite struct ChunkFetcherTests {
    let chunk = Fixture.chunk(Fixture.signers[1], slot: 3)
    var certificate: ChunkCertificate { Fixture.certificate(chunk, signedBy: 3) }

    func fetcher(_ network: InProcessNetwork, rounds: Int = 2) -> ChunkFetcher {
        let local = Fixture.signers[0].nodeID
        return ChunkFetcher(
            local: local, transport: network.transport(for: local),
            validators: ValidatorSchedule(initial: Fixture.validators(), rules: Fixture.rules),
            limits: DecodingLimits(rules: Fixture.rules), timeout: .seconds(10), rounds: rounds,
            backoff: .milliseconds(1))
    }

    @Test func concurrentFetchesOfOneChunkMergeIntoOneRequest() async throws {
        let network = InProcessNetwork()
        let servers = Fixture.signers.map { _ in CountingChunkServer(chunk) }
        for (signer, server) in zip(Fixture.signers, servers) { network.transport(for: signer.nodeID).register(server) }
        let fetcher = fetcher(network)
        let certificate = self.certificate
        let fetched = try await withThrowingTaskGroup(of: Chunk.self) { group in
            for _ in 0..<5 { group.addTask { try await fetcher.fetch(certificate) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(fetched.count == 5 && fetched.allSatisfy { $0 == chunk })
        #expect(servers.reduce(0) { $0 + $1.requests.withLock { $0 } } == 1)
    }

    @Test func fetchNeverAsksItselfAndFailsLoudlyWhenNoSignerServes() async throws {
        let network = InProcessNetwork()
        let own = CountingChunkServer(chunk)
        network.transport(for: Fixture.signers[0].nodeID).register(own)
        // Signed by all four, this node among them; the other three are unreachable.
        let everyone = Fixture.certificate(chunk, signedBy: 4)
        do {
            _ = try await fetcher(network).fetch(everyone)
            Issue.record("fetched a chunk no other signer could serve")
        } catch let error as NodeError {
            #expect(error.code == .chunkUnavailable)
        }
        #expect(own.requests.withLock { $0 } == 0)
    }
}
