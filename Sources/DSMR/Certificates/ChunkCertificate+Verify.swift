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

    /// Checks the certificate against the epoch's validator set.
    ///
    /// Checks, in order: the epoch, that every signer bit lies inside the set,
    /// the quorum, then every signature. When no signature at all verifies, the
    /// certificate was most likely made for another network or chain and the
    /// error is ``CertificateError/Code/wrongDomain``; otherwise the first bad
    /// signature is ``CertificateError/Code/badSignature`` naming its signer.
    public func verify(
        against validators: ValidatorSet, domain: SigningDomain, quorum: Quorum = .default,
        verifier: some SignatureVerifier = Ed25519Verifier()
    ) throws(CertificateError) {
        guard epoch == validators.epoch else {
            throw CertificateError(
                code: .wrongEpoch, message: "certificate of epoch \(epoch) checked against epoch \(validators.epoch)")
        }
        let weight = try signedWeight(in: validators)
        guard validators.hasQuorum(signedWeight: weight, quorum: quorum) else {
            throw CertificateError(
                code: .insufficientWeight,
                message: "signed weight \(weight) of \(validators.totalWeight) is below quorum \(quorum)")
        }
        let message = SignatureShare.message(for: reference, domain: domain)
        var firstBad: Validator?
        var anyGood = false
        for (signature, index) in zip(signatures, signers.indices) {
            let validator = validators.validators[index]
            if verifier.isValid(signature: signature, message: message, publicKey: validator.publicKey) {
                anyGood = true
                if firstBad != nil { break }
            } else if firstBad == nil {
                firstBad = validator
                if anyGood { break }
            }
        }
        guard let bad = firstBad else { return }
        if !anyGood && signatures.count > 1 {
            throw CertificateError(
                code: .wrongDomain,
                message: "none of \(signatures.count) signatures verifies in \(domain): "
                    + "the certificate is for another network or chain, or entirely forged")
        }
        throw CertificateError(
            code: .badSignature, signer: bad.nodeID,
            message: "signature of \(bad.nodeID) does not verify for chunk \(reference.chunkID) in \(domain)")
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
