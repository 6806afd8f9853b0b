import ChunkStore
import DSMR
import Testing

/// A share is a function of the chunk: the same chunk signed again, even
/// after a restart, yields the same bytes (Ed25519 as built on Linux signs
/// deterministically, RFC 8032).
@Suite struct DeterministicShareTests {
    @Test func theSameChunkSignedTwiceYieldsTheSameShareBytes() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let chunk = MaintenanceTestbed.chunk(producer: 1, slot: 10)
        let store = try bed.open("a")
        let first = try await store.persistAndSign(
            chunk, validators: MaintenanceTestbed.validators, now: .milliseconds(10_000))
        let second = try await store.persistAndSign(
            chunk, validators: MaintenanceTestbed.validators, now: .milliseconds(10_000))
        store.close()
        let reopened = try bed.open("a")
        let third = try await reopened.persistAndSign(
            chunk, validators: MaintenanceTestbed.validators, now: .milliseconds(10_000))
        reopened.close()
        #expect(first.encoded() == second.encoded() && second.encoded() == third.encoded())

        let reference = ChunkReference(chunk: chunk, rules: MaintenanceTestbed.rules)
        let direct = try SignatureShare.sign(
            reference, rules: MaintenanceTestbed.rules, signer: Fixture.node, domain: MaintenanceTestbed.domain)
        #expect(direct.encoded() == first.encoded())
    }
}
