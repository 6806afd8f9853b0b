import DSMR
import Synchronization
import Testing

/// Accepts every signature: stands for a verifier of another scheme, or a broken one.
struct PermissiveVerifier: SignatureVerifier {
    func isValid(signature: [UInt8], message: [UInt8], publicKey: [UInt8]) -> Bool { true }
}

/// Ed25519, counting the signatures it checks.
final class CountingVerifier: SignatureVerifier {
    private let calls = Atomic<Int>(0)
    var count: Int { calls.load(ordering: .relaxed) }

    func isValid(signature: [UInt8], message: [UInt8], publicKey: [UInt8]) -> Bool {
        calls.add(1, ordering: .relaxed)
        return Ed25519Verifier().isValid(signature: signature, message: message, publicKey: publicKey)
    }
}

@Suite struct CertificateVerificationCacheTests {
    let all = Fixtures.signers(10)

    /// A certificate with the signer bits of a good one and 64 zero bytes for every signature.
    func forged() throws -> ChunkCertificate {
        let good = try Fixtures.certificate(all: all, signing: 7)
        return try ChunkCertificate(
            reference: good.reference, epoch: good.epoch, signers: good.signers,
            signatures: good.signatures.map { _ in [UInt8](repeating: 0, count: 64) })
    }

    @Test func aCertificateVerifiedOnceIsAnsweredFromTheCacheAfter() throws {
        let signers = Fixtures.signers(4)
        let set = Fixtures.validatorSet(signers)
        let certificate = try Fixtures.certificate(all: signers, signing: 3)
        let cache = CertificateVerificationCache(capacity: 4)
        try cache.verify(certificate, against: set, rules: Fixtures.rules, domain: Fixtures.domain)
        try cache.verify(certificate, against: set, rules: Fixtures.rules, domain: Fixtures.domain)
        #expect(cache.counts.hits == 1)
        #expect(cache.counts.misses == 1)
    }

    @Test func otherTermsMiss() throws {
        let signers = Fixtures.signers(4)
        let set = Fixtures.validatorSet(signers)
        let certificate = try Fixtures.certificate(all: signers, signing: 3)
        let cache = CertificateVerificationCache()
        for _ in 0..<2 {
            #expect(throws: CertificateError.self) {
                try cache.verify(certificate, against: set, rules: Fixtures.rules, domain: Fixtures.otherChain)
            }
        }
        // Same epoch, other weights: another set, so no hit.
        let reweighted = Fixtures.validatorSet(signers, weights: [10, 10, 10, 11])
        try cache.verify(certificate, against: set, rules: Fixtures.rules, domain: Fixtures.domain)
        try cache.verify(certificate, against: reweighted, rules: Fixtures.rules, domain: Fixtures.domain)
        #expect(cache.counts.hits == 0)
        #expect(set.fingerprint != reweighted.fingerprint)
    }

    @Test func theOldestEntryGoesWhenFull() throws {
        let signers = Fixtures.signers(4)
        let cache = CertificateVerificationCache(capacity: 2)
        let certificates = try (1...3).map { slot in
            try Fixtures.certificate(all: signers, signing: 3, slot: UInt64(slot))
        }
        let set = Fixtures.validatorSet(signers, epoch: certificates[0].epoch)
        for certificate in certificates {
            try cache.verify(certificate, against: set, rules: Fixtures.rules, domain: Fixtures.domain)
        }
        try cache.verify(certificates[2], against: set, rules: Fixtures.rules, domain: Fixtures.domain)
        try cache.verify(certificates[0], against: set, rules: Fixtures.rules, domain: Fixtures.domain)
        #expect(cache.counts.hits == 1)
        #expect(cache.counts.misses == 4)
    }

    /// The verifier is the cache's, fixed when it is made: what a permissive
    /// verifier accepted is not accepted through an Ed25519 cache.
    @Test func aCertificateAcceptedByAPermissiveVerifierIsNotAcceptedByAnEd25519Cache() throws {
        let set = Fixtures.validatorSet(all)
        let forged = try forged()
        let permissive = CertificateVerificationCache(verifier: PermissiveVerifier())
        try permissive.verify(forged, against: set, rules: Fixtures.rules, domain: Fixtures.domain)
        try permissive.verify(forged, against: set, rules: Fixtures.rules, domain: Fixtures.domain)
        #expect(permissive.counts.hits == 1)
        let strict = CertificateVerificationCache()
        #expect(throws: CertificateError.self) {
            try strict.verify(forged, against: set, rules: Fixtures.rules, domain: Fixtures.domain)
        }
    }

    /// An all-bad certificate costs one signature check, and its repeats cost none.
    @Test func aForgedCertificateCostsOneCheckThenNone() throws {
        let set = Fixtures.validatorSet(all)
        let forged = try forged()
        let counter = CountingVerifier()
        do {
            try forged.verify(against: set, rules: Fixtures.rules, domain: Fixtures.domain, verifier: counter)
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .badSignature)
            #expect(error.signer == set.validators[forged.signers.indices[0]].nodeID)
        }
        #expect(counter.count == 1)

        let cachedCounter = CountingVerifier()
        let cache = CertificateVerificationCache(verifier: cachedCounter)
        var errors: [CertificateError] = []
        for _ in 0..<5 {
            do {
                try cache.verify(forged, against: set, rules: Fixtures.rules, domain: Fixtures.domain)
            } catch {
                errors.append(error)
            }
        }
        #expect(cachedCounter.count == 1)
        #expect(errors.count == 5 && Set(errors).count == 1)
        #expect(cache.counts.rejectedHits == 4)
        #expect(cache.counts.misses == 1)
    }

    @Test func rememberedFailuresAreBoundedToo() throws {
        let set = Fixtures.validatorSet(all)
        let good = try Fixtures.certificate(all: all, signing: 7)
        let counter = CountingVerifier()
        let cache = CertificateVerificationCache(rejectedCapacity: 2, verifier: counter)
        let forgeries = try (1...3).map { n in
            try ChunkCertificate(
                reference: good.reference, epoch: good.epoch, signers: good.signers,
                signatures: good.signatures.map { _ in [UInt8](repeating: UInt8(n), count: 64) })
        }
        for forgery in forgeries + [forgeries[2], forgeries[0]] {
            #expect(throws: CertificateError.self) {
                try cache.verify(forgery, against: set, rules: Fixtures.rules, domain: Fixtures.domain)
            }
        }
        // The third evicted the first: the repeat of the third is a hit, that of the first is checked again.
        #expect(cache.counts.rejectedHits == 1)
        #expect(counter.count == 4)
    }

    /// Cheap checks run on every call, so a cached certificate is still held to the rules given.
    @Test func theEpochIsCheckedEvenOnAHit() throws {
        let set = Fixtures.validatorSet(all)
        let certificate = try Fixtures.certificate(all: all, signing: 7)
        let cache = CertificateVerificationCache()
        try cache.verify(certificate, against: set, rules: Fixtures.rules, domain: Fixtures.domain)
        do {
            try cache.verify(certificate, against: set, rules: .default, domain: Fixtures.domain)
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .epochNotOfSlot)
        }
    }
}
