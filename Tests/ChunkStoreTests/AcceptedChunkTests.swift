import ChunkStore
import DSMR
import Testing

/// `storeAcceptedChunk` stores only what an accepted block's certificate
/// names, signed by its producer's registered key.
@Suite struct AcceptedChunkTests {
    static let validators = MaintenanceTestbed.validators
    static func reference(_ chunk: Chunk) -> ChunkReference {
        ChunkReference(chunk: chunk, rules: MaintenanceTestbed.rules)
    }

    @Test func anUncertifiedOrForgedChunkIsRefused() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        defer { store.close() }
        let certified = MaintenanceTestbed.chunk(producer: 1, slot: 10, payload: 1)
        let uncertified = MaintenanceTestbed.chunk(producer: 2, slot: 10, payload: 2)
        let forged = Fixture.badlySigned(Fixture.producers[0], slot: 10, payload: [1, 2, 3])
        let stranger = Fixture.chunk(Fixture.outsider, slot: 10, payload: [4])
        let pending = MaintenanceTestbed.chunk(producer: 3, slot: 10, payload: 3)
        try await store.addCertificate(MaintenanceTestbed.certificate(for: pending))
        let block = Block(
            parent: .zero, height: 1, timestamp: 10_000,
            certificates: [certified, forged, stranger].map(MaintenanceTestbed.certificate(for:)))
        #expect(try await store.recordAccepted(block).missingChunks.count == 3)

        func attempt(_ chunk: Chunk, _ reference: ChunkReference) async -> ChunkStoreError.Code? {
            await errorCode { try await store.storeAcceptedChunk(chunk, for: reference, validators: Self.validators) }
        }
        #expect(await attempt(uncertified, Self.reference(uncertified)) == .notAccepted)
        #expect(await attempt(pending, Self.reference(pending)) == .notAccepted, "its certificate is not accepted")
        #expect(await attempt(forged, Self.reference(forged)) == .badSignature)
        #expect(await attempt(stranger, Self.reference(stranger)) == .notAValidator)
        #expect(await attempt(uncertified, Self.reference(certified)) == .invalidChunk)
        for chunk in [uncertified, pending, forged, stranger] {
            #expect(try store.summary(of: chunk.id, expiry: Self.reference(chunk).expiry) == nil)
        }
        #expect(await attempt(certified, Self.reference(certified)) == nil)
        #expect(try store.summary(of: certified.id, expiry: Self.reference(certified).expiry)?.status == .accepted)
    }
}
