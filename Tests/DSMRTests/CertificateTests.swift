import DSMR
import Testing

@Suite struct CertificateTests {
    /// Equal weights of 10 out of 100: quorum 67/100 needs 67, so 7 signers.
    let all = Fixtures.signers(10)

    func code(_ body: () throws -> Void) -> CertificateError.Code? {
        do {
            try body()
            return nil
        } catch let error as CertificateError {
            return error.code
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test func exactlyAtQuorumVerifies() throws {
        let set = Fixtures.validatorSet(all)
        let certificate = try Fixtures.certificate(all: all, signing: 7)
        #expect(certificate.signers.count == 7)
        #expect(try certificate.signedWeight(in: set) == 70)
        try certificate.verify(against: set, domain: Fixtures.domain)
        #expect(try ChunkCertificate(decoding: certificate.encoded()) == certificate)
    }

    @Test func exactQuorumBoundaryWithUnequalWeights() throws {
        // Total 100; 67 signed is exactly 67/100.
        let signers = Fixtures.signers(3)
        let set = Fixtures.validatorSet(signers, weights: [67, 32, 1])
        let reference = Fixtures.reference()
        let heavy = signers[0]
        let shares = Fixtures.shares([heavy], reference: reference)
        let certificate = try ChunkCertificate.aggregate(reference: reference, shares: shares, validators: set)
        try certificate.verify(against: set, domain: Fixtures.domain)
        let light = Fixtures.shares([signers[1], signers[2]], reference: reference)
        #expect(code { _ = try ChunkCertificate.aggregate(reference: reference, shares: light, validators: set) } == .insufficientWeight)
    }

    @Test func oneSignerShortFails() throws {
        let reference = Fixtures.reference()
        let set = Fixtures.validatorSet(all)
        let shares = Fixtures.shares(Array(all.prefix(6)), reference: reference)
        #expect(code { _ = try ChunkCertificate.aggregate(reference: reference, shares: shares, validators: set) } == .insufficientWeight)
        // Assembled by hand, the same certificate fails verification too.
        let indices = shares.map { set.index(of: $0.signer)! }.sorted()
        let bySigner = Dictionary(uniqueKeysWithValues: shares.map { (set.index(of: $0.signer)!, $0.signature) })
        let short = try ChunkCertificate(
            reference: reference, epoch: set.epoch, signers: SignerBitSet(indices: indices),
            signatures: indices.map { bySigner[$0]! })
        #expect(code { try short.verify(against: set, domain: Fixtures.domain) } == .insufficientWeight)
    }

    @Test func duplicateSignerIsRejectedWhenAggregating() {
        let reference = Fixtures.reference()
        let set = Fixtures.validatorSet(all)
        var shares = Fixtures.shares(Array(all.prefix(7)), reference: reference)
        shares.append(shares[0])
        #expect(code { _ = try ChunkCertificate.aggregate(reference: reference, shares: shares, validators: set) } == .duplicateSigner)
    }

    @Test func signerOutsideTheSetIsRejected() throws {
        let reference = Fixtures.reference()
        let set = Fixtures.validatorSet(all)
        let stranger = Fixtures.signer(99)
        let shares = Fixtures.shares(Array(all.prefix(7)) + [stranger], reference: reference)
        #expect(code { _ = try ChunkCertificate.aggregate(reference: reference, shares: shares, validators: set) } == .signerOutsideSet)
        // A bit beyond the set's size.
        let certificate = try Fixtures.certificate(all: all, signing: 7)
        let beyond = try ChunkCertificate(
            reference: certificate.reference, epoch: certificate.epoch,
            signers: SignerBitSet(indices: certificate.signers.indices + [10]),
            signatures: certificate.signatures + [certificate.signatures[0]])
        #expect(code { try beyond.verify(against: set, domain: Fixtures.domain) } == .signerOutsideSet)
    }

    @Test func signatureByTheWrongKeyNamesTheSigner() throws {
        let set = Fixtures.validatorSet(all)
        let certificate = try Fixtures.certificate(all: all, signing: 8)
        let victimIndex = certificate.signers.indices[3]
        let victim = set.validators[victimIndex].nodeID
        var signatures = certificate.signatures
        signatures[3] = try Fixtures.signer(99).sign(SignatureShare.message(for: certificate.reference, domain: Fixtures.domain))
        let forged = try ChunkCertificate(
            reference: certificate.reference, epoch: certificate.epoch, signers: certificate.signers,
            signatures: signatures)
        do {
            try forged.verify(against: set, domain: Fixtures.domain)
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .badSignature)
            #expect(error.signer == victim)
        }
    }

    @Test func certificateForAnotherChainSaysSo() throws {
        let set = Fixtures.validatorSet(all)
        let certificate = try Fixtures.certificate(all: all, signing: 7, domain: Fixtures.otherChain)
        try certificate.verify(against: set, domain: Fixtures.otherChain)
        #expect(code { try certificate.verify(against: set, domain: Fixtures.domain) } == .wrongDomain)
    }

    @Test func certificateOfAnotherEpochIsRejected() throws {
        let certificate = try Fixtures.certificate(all: all, signing: 7, epoch: 7)
        let nextEpoch = Fixtures.validatorSet(all, epoch: 8)
        #expect(code { try certificate.verify(against: nextEpoch, domain: Fixtures.domain) } == .wrongEpoch)
    }

    @Test func shareForAnotherReferenceIsRejected() {
        let reference = Fixtures.reference()
        var other = reference
        other.slot += 1
        let set = Fixtures.validatorSet(all)
        let shares = Fixtures.shares(Array(all.prefix(6)), reference: reference)
            + Fixtures.shares([all[6]], reference: other)
        #expect(code { _ = try ChunkCertificate.aggregate(reference: reference, shares: shares, validators: set) } == .referenceMismatch)
    }

    @Test func signatureCountMustMatchSigners() throws {
        let certificate = try Fixtures.certificate(all: all, signing: 7)
        #expect(code {
            _ = try ChunkCertificate(
                reference: certificate.reference, epoch: certificate.epoch, signers: certificate.signers,
                signatures: Array(certificate.signatures.dropLast()))
        } == .signatureCountMismatch)
    }

    @Test func signaturesAreInSignerIndexOrder() throws {
        let set = Fixtures.validatorSet(all)
        let reference = Fixtures.reference()
        let shares = Fixtures.shares(Array(all.prefix(8)).reversed(), reference: reference)
        let certificate = try ChunkCertificate.aggregate(reference: reference, shares: shares, validators: set)
        let signerIDs = try certificate.signerIDs(in: set)
        #expect(signerIDs == signerIDs.sorted())
        for (id, signature) in zip(signerIDs, certificate.signatures) {
            #expect(shares.first { $0.signer == id }?.signature == signature)
        }
    }
}
