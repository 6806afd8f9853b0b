extension ChunkCertificate {
    /// The node ids of the signers, in bit order.
    ///
    /// - Throws: ``CertificateError/Code/signerOutsideSet`` when a bit lies beyond the set.
    public func signerIDs(in validators: ValidatorSet) throws(CertificateError) -> [NodeID] {
        try checkBits(validators)
        return signers.indices.map { validators.validators[$0].nodeID }
    }

    /// The summed weight of the signers in `validators`.
    ///
    /// - Throws: ``CertificateError/Code/signerOutsideSet`` when a bit lies beyond the set.
    public func signedWeight(in validators: ValidatorSet) throws(CertificateError) -> UInt64 {
        try checkBits(validators)
        // Cannot overflow: the set's total weight fits in UInt64.
        return signers.indices.reduce(0) { $0 + validators.validators[$1].weight }
    }

    /// Checks the certificate against its epoch's validator set under `rules`.
    ///
    /// Checks, in order: that ``epoch`` is the epoch `rules` give the
    /// reference's slot (``CertificateError/Code/epochNotOfSlot``), that
    /// `validators` is that epoch's set (``CertificateError/Code/wrongEpoch``),
    /// that every signer bit lies inside the set, that the signers reach
    /// `rules.quorum`, then the signatures, over the reference and the epoch,
    /// in bit order. The first signature that does not verify stops the check
    /// and is ``CertificateError/Code/badSignature`` naming its signer, so an
    /// entirely forged certificate costs one signature check. To make repeats
    /// cost a hash, verify through a ``CertificateVerificationCache``.
    public func verify(
        against validators: ValidatorSet, rules: Rules, domain: SigningDomain,
        verifier: some SignatureVerifier = Ed25519Verifier()
    ) throws(CertificateError) {
        try checkTerms(against: validators, rules: rules)
        try checkSignatures(against: validators, domain: domain, verifier: verifier)
    }

    /// Everything ``verify(against:rules:domain:verifier:)`` checks but the signatures: the epoch,
    /// the signer bits and the quorum. Costs no signature check.
    func checkTerms(against validators: ValidatorSet, rules: Rules) throws(CertificateError) {
        let slotEpoch = rules.epoch(ofSlot: reference.slot)
        guard epoch == slotEpoch else {
            throw CertificateError(
                code: .epochNotOfSlot,
                message: "certificate says epoch \(epoch) but its chunk \(reference.chunkID) of slot "
                    + "\(reference.slot) is in epoch \(slotEpoch)")
        }
        guard epoch == validators.epoch else {
            throw CertificateError(
                code: .wrongEpoch, message: "certificate of epoch \(epoch) checked against epoch \(validators.epoch)")
        }
        let weight = try signedWeight(in: validators)
        guard validators.hasQuorum(signedWeight: weight, quorum: rules.quorum) else {
            throw CertificateError(
                code: .insufficientWeight,
                message: "signed weight \(weight) of \(validators.totalWeight) is below quorum \(rules.quorum)")
        }
    }

    /// Checks every signature in bit order, stopping at the first that does not verify.
    ///
    /// - Precondition: ``checkTerms(against:rules:)`` passed for `validators`.
    func checkSignatures(
        against validators: ValidatorSet, domain: SigningDomain, verifier: some SignatureVerifier
    ) throws(CertificateError) {
        let message = SignatureShare.message(for: reference, epoch: epoch, domain: domain)
        for (signature, index) in zip(signatures, signers.indices) {
            let validator = validators.validators[index]
            guard verifier.isValid(signature: signature, message: message, publicKey: validator.publicKey) else {
                throw CertificateError(
                    code: .badSignature, signer: validator.nodeID,
                    message: "signature of \(validator.nodeID) does not verify for chunk \(reference.chunkID) "
                        + "of epoch \(epoch) in \(domain): forged, or made for another network or chain")
            }
        }
    }

    private func checkBits(_ validators: ValidatorSet) throws(CertificateError) {
        guard signers.highestIndex < validators.count else {
            throw CertificateError(
                code: .signerOutsideSet,
                message: "signer bit \(signers.highestIndex) lies outside the \(validators.count) validators "
                    + "of epoch \(validators.epoch)")
        }
    }
}
