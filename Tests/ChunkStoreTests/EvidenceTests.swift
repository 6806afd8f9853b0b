import ChunkStore
import DSMR
import Testing

@Suite struct EvidenceTests {
    @Test func aPairThatProvesTheFaultReplacesEvidenceThatProvesNothing() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let validators = MaintenanceTestbed.validators
        let signed = MaintenanceTestbed.chunk(producer: 1, slot: 10, payload: 1)
        let rival = MaintenanceTestbed.chunk(producer: 1, slot: 10, payload: 2)
        let third = MaintenanceTestbed.chunk(producer: 1, slot: 10, payload: 3)

        // The old machine signed `signed`; the new one knows it only from the history.
        let old = try bed.open("old")
        _ = try await old.persistAndSign(signed, validators: validators, now: .milliseconds(10_000))
        let history = try old.exportSigningHistory()
        old.close()
        let store = try bed.open("new")
        defer { store.close() }
        _ = try await store.importSigningHistory(history)

        #expect(
            await errorCode {
                try await store.persistAndSign(rival, validators: validators, now: .milliseconds(10_000))
            } == .conflictingChunk)
        #expect(try store.evidence().map { $0.signedChunk == nil } == [true])
        _ = try await store.persistAndSign(signed, validators: validators, now: .milliseconds(10_000))
        #expect(
            await errorCode {
                try await store.persistAndSign(third, validators: validators, now: .milliseconds(10_000))
            } == .conflictingChunk)

        let evidence = try store.evidence()
        try #require(evidence.count == 1)
        #expect(evidence[0].signedChunk == signed && evidence[0].conflictingChunk == third)
        let key = MaintenanceTestbed.signers[1].publicKey
        #expect(evidence[0].proves(publicKey: key, domain: MaintenanceTestbed.domain))
    }
}
