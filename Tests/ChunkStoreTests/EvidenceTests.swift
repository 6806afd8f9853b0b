import ChunkStore
import StoreMaintenance
import DSMR
import Testing

/// Evidence that cannot prove a fault on its own (the chunk signed first is
/// not held) is completed or replaced as soon as the store can prove it.
@Suite struct EvidenceTests {
    static let validators = MaintenanceTestbed.validators
    static let signed = MaintenanceTestbed.chunk(producer: 1, slot: 10, payload: 1)
    static let rival = MaintenanceTestbed.chunk(producer: 1, slot: 10, payload: 2)
    static let third = MaintenanceTestbed.chunk(producer: 1, slot: 10, payload: 3)
    static let publicKey = MaintenanceTestbed.signers[1].publicKey

    /// A store that knows `signed` only from the old machine's history and
    /// has refused `rival`, keeping evidence that proves nothing yet.
    static func storeWithUnprovenEvidence(_ bed: MaintenanceTestbed) async throws -> ChunkStore {
        let old = try bed.open("old")
        _ = try await old.persistAndSign(signed, validators: validators, now: .milliseconds(10_000))
        let history = try old.exportSigningHistory()
        old.close()
        let store = try bed.open("new")
        _ = try await store.importSigningHistory(history)
        #expect(await sign(rival, store) == .conflictingChunk)
        let evidence = try store.evidence()
        #expect(evidence.count == 1 && evidence.first?.signedChunk == nil)
        #expect(evidence.first?.proves(publicKey: publicKey, domain: MaintenanceTestbed.domain) == false)
        return store
    }

    static func sign(_ chunk: Chunk, _ store: ChunkStore) async -> ChunkStoreError.Code? {
        await errorCode { try await store.persistAndSign(chunk, validators: validators, now: .milliseconds(10_000)) }
    }

    static func expectProof(_ store: ChunkStore, conflicting: Chunk) throws {
        let evidence = try store.evidence()
        try #require(evidence.count == 1)
        #expect(evidence[0].signedChunk == signed && evidence[0].conflictingChunk == conflicting)
        #expect(evidence[0].proves(publicKey: publicKey, domain: MaintenanceTestbed.domain))
    }

    @Test func aPairThatProvesTheFaultReplacesEvidenceThatProvesNothing() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try await Self.storeWithUnprovenEvidence(bed)
        defer { store.close() }
        // The signed chunk arrives as an accepted block's chunk, not by signing.
        let certificate = MaintenanceTestbed.certificate(for: Self.signed)
        try await store.recordAccepted(Block(parent: .zero, height: 1, timestamp: 9_000, certificates: [certificate]))
        try await store.storeAcceptedChunk(Self.signed, for: certificate.reference, validators: Self.validators)
        #expect(await Self.sign(Self.third, store) == .conflictingChunk)
        try Self.expectProof(store, conflicting: Self.third)
    }

    @Test func signingTheChunkSignedFirstCompletesTheEvidence() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try await Self.storeWithUnprovenEvidence(bed)
        defer { store.close() }
        #expect(await Self.sign(Self.signed, store) == nil)
        try Self.expectProof(store, conflicting: Self.rival)
        // A later conflict adds nothing to a proof.
        #expect(await Self.sign(Self.third, store) == .conflictingChunk)
        try Self.expectProof(store, conflicting: Self.rival)
    }
}
