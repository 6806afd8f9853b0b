import DSMR
import Testing

@Suite struct CertificateVerificationCacheTests {
    @Test func aCertificateVerifiedOnceIsAnsweredFromTheCacheAfter() throws {
        let signers = Fixtures.signers(4)
        let set = Fixtures.validatorSet(signers)
        let certificate = try Fixtures.certificate(all: signers, signing: 3)
        let cache = CertificateVerificationCache(capacity: 4)
        try cache.verify(certificate, against: set, domain: Fixtures.domain)
        try cache.verify(certificate, against: set, domain: Fixtures.domain)
        #expect(cache.counts.hits == 1)
        #expect(cache.counts.misses == 1)
    }

    @Test func failuresAreNotRememberedAndOtherTermsMiss() throws {
        let signers = Fixtures.signers(4)
        let set = Fixtures.validatorSet(signers)
        let certificate = try Fixtures.certificate(all: signers, signing: 3)
        let cache = CertificateVerificationCache()
        for _ in 0..<2 {
            #expect(throws: CertificateError.self) {
                try cache.verify(certificate, against: set, domain: Fixtures.otherChain)
            }
        }
        // Same epoch, other weights: another set, so no hit.
        let reweighted = Fixtures.validatorSet(signers, weights: [10, 10, 10, 11])
        try cache.verify(certificate, against: set, domain: Fixtures.domain)
        try cache.verify(certificate, against: reweighted, domain: Fixtures.domain)
        #expect(cache.counts.hits == 0)
        #expect(set.fingerprint != reweighted.fingerprint)
    }

    @Test func theOldestEntryGoesWhenFull() throws {
        let signers = Fixtures.signers(4)
        let set = Fixtures.validatorSet(signers)
        let cache = CertificateVerificationCache(capacity: 2)
        let certificates = try (1...3).map { slot -> ChunkCertificate in
            let reference = Fixtures.reference(Fixtures.chunk(slot: UInt64(slot)))
            return try ChunkCertificate.aggregate(
                reference: reference, shares: Fixtures.shares(Array(signers.prefix(3)), reference: reference),
                validators: set)
        }
        for certificate in certificates { try cache.verify(certificate, against: set, domain: Fixtures.domain) }
        try cache.verify(certificates[2], against: set, domain: Fixtures.domain)
        try cache.verify(certificates[0], against: set, domain: Fixtures.domain)
        #expect(cache.counts.hits == 1)
        #expect(cache.counts.misses == 4)
    }
}
