import ChunkStore
import StoreMaintenance
import DSMR
import DSMRTestSupport
import Foundation
import Testing

@Suite("Opening a store")
struct OpeningTests {
    /// Opens `configuration` and returns the refusal, or nil when it opened.
    func refusal(_ configuration: StoreConfiguration) -> ChunkStoreError? {
        do {
            let store = try ChunkStore(configuration)
            store.close()
            return nil
        } catch let error as ChunkStoreError {
            return error
        } catch {
            Issue.record("expected a ChunkStoreError, got \(error)")
            return nil
        }
    }

    func makeStore(_ path: String) async throws {
        let store = try ChunkStore(Fixture.configuration(path))
        defer { store.close() }
        _ = try await store.persistAndSign(
            Fixture.chunk(Fixture.producers[0], slot: 20), validators: Fixture.validators, now: .milliseconds(20_000))
    }

    @Test func refusesAStoreOfAnotherChainNetworkOrNode() async throws {
        try await withTemporaryDirectory("open") { path in
            try await makeStore(path)

            var otherChain = Fixture.configuration(path)
            otherChain.chainID = Fixture.otherChainID
            let chain = try #require(refusal(otherChain))
            #expect(chain.code == .wrongStore)
            #expect(chain.message.contains("belongs to chain \(Fixture.chainID)"), "\(chain)")

            var otherNetwork = Fixture.configuration(path)
            otherNetwork.networkID += 1
            let network = try #require(refusal(otherNetwork))
            #expect(network.code == .wrongStore)
            #expect(network.message.contains("network \(Fixture.networkID)"), "\(network)")

            var otherNode = Fixture.configuration(path)
            otherNode.nodeID = Fixture.producers[1].nodeID
            otherNode.signer = Fixture.producers[1]
            let node = try #require(refusal(otherNode))
            #expect(node.code == .wrongStore)
            #expect(node.message.contains("node \(Fixture.node.nodeID)"), "\(node)")

            // The refusals left the store as it was, and unlocked.
            let store = try ChunkStore(Fixture.configuration(path))
            defer { store.close() }
            #expect(try store.signedChunk(producer: Fixture.producers[0].nodeID, slot: 20) != nil)
        }
    }

    @Test func secondWriterInTheSameProcessIsRefusedClearly() async throws {
        try await withTemporaryDirectory("open") { path in
            let store = try ChunkStore(Fixture.configuration(path))
            defer { store.close() }
            let second = try #require(refusal(Fixture.configuration(path)))
            #expect(second.code == .locked)
            #expect(second.message.contains("pid \(getpid())"), "the refusal names the holder: \(second)")
            #expect(second.message.contains(path), "\(second)")
            // The first store still works.
            _ = try await store.persistAndSign(
                Fixture.chunk(Fixture.producers[0], slot: 20), validators: Fixture.validators,
                now: .milliseconds(20_000))
        }
    }

    @Test func readOnlyOpenReadsAClosedStoreAndRefusesWrites() async throws {
        try await withTemporaryDirectory("open") { path in
            try await makeStore(path)
            let chunk = Fixture.chunk(Fixture.producers[0], slot: 20)
            let store = try ChunkStore(adopting: path, readOnly: true)
            defer { store.close() }
            #expect(store.isReadOnly)
            #expect(store.configuration.rules == Fixture.rules)
            #expect(store.configuration.chainID == Fixture.chainID)
            #expect(try store.chunk(chunk.id)?.chunk == chunk)
            #expect(try store.signedChunk(producer: chunk.producer, slot: 20) == chunk.id)
            #expect(try store.watermark() == 0)
            #expect(await errorCode { try await store.collectGarbage(upTo: .milliseconds(1)) } == .readOnly)
            #expect(
                await errorCode { try await store.recordAccepted(Fixture.block(height: 1, timestamp: 1)) } == .readOnly)
            #expect(await errorCode { try await store.addCertificate(Fixture.certificate(chunk)) } == .readOnly)
            #expect(
                await errorCode {
                    try await store.storeAcceptedChunk(
                        chunk, for: Fixture.reference(chunk), validators: Fixture.validators)
                } == .readOnly)
            #expect(
                await errorCode {
                    try await store.persistAndSign(
                        Fixture.chunk(Fixture.producers[1], slot: 20), validators: Fixture.validators,
                        now: .milliseconds(20_000))
                } == .readOnly)
        }
    }

    @Test func readOnlyOpenOfAMissingStoreIsRefused() async {
        await withTemporaryDirectory("open") { path in
            #expect(throws: ChunkStoreError.self) { try ChunkStore(adopting: path + "/absent", readOnly: true) }
            var configuration = Fixture.configuration(path + "/absent")
            configuration.readOnly = true
            #expect(throws: (any Error).self) { try ChunkStore(configuration) }
        }
    }

    @Test func signingWithoutAKeyIsRefusedAsNoSigningKey() async throws {
        try await withTemporaryDirectory("open") { path in
            var configuration = Fixture.configuration(path)
            configuration.signer = nil
            let store = try ChunkStore(configuration)
            defer { store.close() }
            let chunk = Fixture.chunk(Fixture.producers[0], slot: 20)
            #expect(
                await errorCode {
                    try await store.persistAndSign(chunk, validators: Fixture.validators, now: .milliseconds(20_000))
                } == .noSigningKey)
            #expect(
                await errorCode {
                    try await store.storeOwnChunk(Fixture.chunk(Fixture.node, slot: 20), now: .milliseconds(20_000))
                } == .noSigningKey)
            // Keeping chunks needs no key.
            try await store.recordAccepted(Fixture.block(height: 1, timestamp: 19_000, certifying: [chunk]))
            try await store.storeAcceptedChunk(chunk, for: Fixture.reference(chunk), validators: Fixture.validators)
            #expect(try store.signedChunk(producer: chunk.producer, slot: 20) == nil)
        }
    }

    @Test func writesAndReadsAfterCloseFailWithClosed() async throws {
        try await withTemporaryDirectory("open") { path in
            let store = try ChunkStore(Fixture.configuration(path))
            store.close()
            #expect(await errorCode { try await store.collectGarbage(upTo: .milliseconds(1)) } == .closed)
            #expect { _ = try store.watermark() } throws: { ChunkStoreError.Code.closed ~= $0 }
            #expect { _ = try store.check() } throws: { ChunkStoreError.Code.closed ~= $0 }
            // The lock is released: the store opens again.
            let again = try ChunkStore(Fixture.configuration(path))
            again.close()
        }
    }
}
