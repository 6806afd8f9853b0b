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
        try certificate.verify(against: set, rules: Fixtures.rules, domain: Fixtures.domain)
        #expect(try ChunkCertificate(decoding: certificate.encoded()) == certificate)
    }

    @Test func exactQuorumBoundaryWithUnequalWeights() throws {
        // Total 100; 67 signed is exactly 67/100.
        let signers = Fixtures.signers(3)
        let set = Fixtures.validatorSet(signers, weights: [67, 32, 1])
        let reference = Fixtures.reference()
        let heavy = signers[0]
        let shares = Fixtures.shares([heavy], reference: reference)
        let certificate = try ChunkCertificate.aggregate(
            reference: reference, shares: shares, validators: set, rules: Fixtures.rules)
        try certificate.verify(against: set, rules: Fixtures.rules, domain: Fixtures.domain)
        let light = Fixtures.shares([signers[1], signers[2]], reference: reference)
        #expect(
            code {
                _ = try ChunkCertificate.aggregate(
                    reference: reference, shares: light, validators: set, rules: Fixtures.rules)
            } == .insufficientWeight)
    }

    @Test func oneSignerShortFails() throws {
        let reference = Fixtures.reference()
        let set = Fixtures.validatorSet(all)
        let shares = Fixtures.shares(Array(all.prefix(6)), reference: reference)
        #expect(
            code {
                _ = try ChunkCertificate.aggregate(
                    reference: reference, shares: shares, validators: set, rules: Fixtures.rules)
            } == .insufficientWeight)
        // Assembled by hand, the same certificate fails verification too.
        let indices = shares.map { set.index(of: $0.signer)! }.sorted()
        let bySigner = Dictionary(uniqueKeysWithValues: shares.map { (set.index(of: $0.signer)!, $0.signature) })
        let short = try ChunkCertificate(
            reference: reference, epoch: set.epoch, signers: SignerBitSet(indices: indices),
            signatures: indices.map { bySigner[$0]! })
        #expect(
            code { try short.verify(against: set, rules: Fixtures.rules, domain: Fixtures.domain) }
                == .insufficientWeight)
    }

    @Test func duplicateSignerIsRejectedWhenAggregating() {
        let reference = Fixtures.reference()
        let set = Fixtures.validatorSet(all)
        var shares = Fixtures.shares(Array(all.prefix(7)), reference: reference)
        shares.append(shares[0])
        #expect(
            code {
                _ = try ChunkCertificate.aggregate(
                    reference: reference, shares: shares, validators: set, rules: Fixtures.rules)
            } == .duplicateSigner)
    }

    @Test func signerOutsideTheSetIsRejected() throws {
        let reference = Fixtures.reference()
        let set = Fixtures.validatorSet(all)
        let stranger = Fixtures.signer(99)
        let shares = Fixtures.shares(Array(all.prefix(7)) + [stranger], reference: reference)
        #expect(
            code {
                _ = try ChunkCertificate.aggregate(
                    reference: reference, shares: shares, validators: set, rules: Fixtures.rules)
            } == .signerOutsideSet)
        // A bit beyond the set's size.
        let certificate = try Fixtures.certificate(all: all, signing: 7)
        let beyond = try ChunkCertificate(
            reference: certificate.reference, epoch: certificate.epoch,
            signers: SignerBitSet(indices: certificate.signers.indices + [10]),
            signatures: certificate.signatures + [certificate.signatures[0]])
        #expect(
            code { try beyond.verify(against: set, rules: Fixtures.rules, domain: Fixtures.domain) }
                == .signerOutsideSet)
    }

    @Test func signatureByTheWrongKeyNamesTheSigner() throws {
        let set = Fixtures.validatorSet(all)
        let certificate = try Fixtures.certificate(all: all, signing: 8)
        let victimIndex = certificate.signers.indices[3]
        let victim = set.validators[victimIndex].nodeID
        var signatures = certificate.signatures
        signatures[3] = try Fixtures.signer(99).sign(
            SignatureShare.message(
                for: certificate.reference, epoch: certificate.epoch, domain: Fixtures.domain))
        let forged = try ChunkCertificate(
            reference: certificate.reference, epoch: certificate.epoch, signers: certificate.signers,
            signatures: signatures)
        do {
            try forged.verify(against: set, rules: Fixtures.rules, domain: Fixtures.domain)
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .badSignature)
            #expect(error.signer == victim)
        }
    }

    @Test func certificateForAnotherChainFailsAtTheFirstSignature() throws {
        let set = Fixtures.validatorSet(all)
        let certificate = try Fixtures.certificate(all: all, signing: 7, domain: Fixtures.otherChain)
        try certificate.verify(against: set, rules: Fixtures.rules, domain: Fixtures.otherChain)
        do {
            try certificate.verify(against: set, rules: Fixtures.rules, domain: Fixtures.domain)
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .badSignature)
            #expect(error.signer == set.validators[certificate.signers.indices[0]].nodeID)
            #expect(error.message.contains("another network or chain"))
        }
    }

    @Test func certificateOfAnotherEpochIsRejected() throws {
        let certificate = try Fixtures.certificate(all: all, signing: 7)
        #expect(certificate.epoch == 7)
        let nextEpoch = Fixtures.validatorSet(all, epoch: 8)
        #expect(
            code { try certificate.verify(against: nextEpoch, rules: Fixtures.rules, domain: Fixtures.domain) }
                == .wrongEpoch)
    }

    /// The epoch is bound to the slot and signed: a certificate made for
    /// epoch 0 and relabelled as epoch 9 fails against an epoch-9 set with the same members.
    @Test func certificateRelabelledWithAnotherEpochFailsBothWays() throws {
        let hourEpochs = Rules.default
        let reference = ChunkReference(chunk: Fixtures.chunk(slot: 9), rules: hourEpochs)
        let shares = try all.prefix(7).map {
            try SignatureShare.sign(reference, rules: hourEpochs, signer: $0, domain: Fixtures.domain)
        }
        let certificate = try ChunkCertificate.aggregate(
            reference: reference, shares: shares, validators: Fixtures.validatorSet(all, epoch: 0), rules: hourEpochs)
        #expect(certificate.epoch == 0)
        let relabelled = try ChunkCertificate(
            reference: reference, epoch: 9, signers: certificate.signers, signatures: certificate.signatures)
        let epoch9 = Fixtures.validatorSet(all, epoch: 9)
        // The slot says epoch 0: refused before any signature is checked.
        #expect(
            code { try relabelled.verify(against: epoch9, rules: hourEpochs, domain: Fixtures.domain) }
                == .epochNotOfSlot)
        // Under rules that put slot 9 in epoch 9, the signatures (made over epoch 0) fail.
        let secondEpochs = Rules(epochDuration: 1_000)
        #expect(secondEpochs.epoch(ofSlot: 9) == 9)
        #expect(
            code { try relabelled.verify(against: epoch9, rules: secondEpochs, domain: Fixtures.domain) }
                == .badSignature)
        try certificate.verify(
            against: Fixtures.validatorSet(all, epoch: 0), rules: hourEpochs, domain: Fixtures.domain)
    }

    @Test func aShareForAnotherEpochFails() throws {
        let reference = Fixtures.reference()
        let signer = all[0]
        let share = try SignatureShare.sign(reference, rules: Fixtures.rules, signer: signer, domain: Fixtures.domain)
        #expect(share.epoch == 7)
        #expect(share.verify(publicKey: signer.publicKey, rules: Fixtures.rules, domain: Fixtures.domain))
        var relabelled = share
        relabelled.epoch = 8
        #expect(!relabelled.verify(publicKey: signer.publicKey, rules: Fixtures.rules, domain: Fixtures.domain))
        // Signed honestly for epoch 8, it still fails: slot 42 is in epoch 7.
        let forEpoch8 = SignatureShare(
            signer: signer.nodeID, reference: reference, epoch: 8,
            signature: try signer.sign(SignatureShare.message(for: reference, epoch: 8, domain: Fixtures.domain)))
        #expect(!forEpoch8.verify(publicKey: signer.publicKey, rules: Fixtures.rules, domain: Fixtures.domain))
        // And it cannot be aggregated into a certificate of epoch 7.
        let shares = Fixtures.shares(Array(all[1..<7]), reference: reference) + [forEpoch8]
        #expect(
            code {
                _ = try ChunkCertificate.aggregate(
                    reference: reference, shares: shares, validators: Fixtures.validatorSet(all), rules: Fixtures.rules)
            } == .wrongEpoch)
        // Nor aggregated over a set of another epoch than the slot's.
        #expect(
            code {
                _ = try ChunkCertificate.aggregate(
                    reference: reference, shares: Fixtures.shares(all, reference: reference),
                    validators: Fixtures.validatorSet(all, epoch: 8), rules: Fixtures.rules)
            } == .wrongEpoch)
    }

    @Test func shareForAnotherReferenceIsRejected() {
        let reference = Fixtures.reference()
        var other = reference
        other.slot += 1
        let set = Fixtures.validatorSet(all)
        let shares =
            Fixtures.shares(Array(all.prefix(6)), reference: reference)
            + Fixtures.shares([all[6]], reference: other)
        #expect(
            code {
                _ = try ChunkCertificate.aggregate(
                    reference: reference, shares: shares, validators: set, rules: Fixtures.rules)
            } == .referenceMismatch)
    }

    @Test func signatureCountMustMatchSigners() throws {
        let certificate = try Fixtures.certificate(all: all, signing: 7)
        #expect(
            code {
                _ = try ChunkCertificate(
                    reference: certificate.reference, epoch: certificate.epoch, signers: certificate.signers,
                    signatures: Array(certificate.signatures.dropLast()))
            } == .signatureCountMismatch)
    }

    @Test func signaturesAreInSignerIndexOrder() throws {
        let set = Fixtures.validatorSet(all)
        let reference = Fixtures.reference()
        let shares = Fixtures.shares(Array(all.prefix(8)).reversed(), reference: reference)
        let certificate = try ChunkCertificate.aggregate(
            reference: reference, shares: shares, validators: set, rules: Fixtures.rules)
        let signerIDs = try certificate.signerIDs(in: set)
        #expect(signerIDs == signerIDs.sorted())
        for (id, signature) in zip(signerIDs, certificate.signatures) {
            #expect(shares.first { $0.signer == id }?.signature == signature)
        }
    }
}
