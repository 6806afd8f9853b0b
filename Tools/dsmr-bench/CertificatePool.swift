import DSMR

/// Certificates with real Ed25519 signatures: 100 validators of weight 10,
/// 67 of them signing each (exactly the 67/100 quorum). Certificate `i`
/// names a chunk of slot `1 + i`, so the pool is in expiry order.
struct CertificatePool: Sendable {
    static let validatorCount = 100
    static let signatureCount = 67

    let validators: ValidatorSet
    let certificates: [ChunkCertificate]

    static func make(count: Int) async throws -> CertificatePool {
        log("certificates: signing \(count) certificates of \(signatureCount) signatures each")
        let signers = Fixture.signers(validatorCount)
        let validators = Fixture.validatorSet(signers)
        let workers = processorCount
        let made = try await withThrowingTaskGroup(of: [(Int, ChunkCertificate)].self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var made: [(Int, ChunkCertificate)] = []
                    for index in stride(from: worker, to: count, by: workers) {
                        made.append((index, try certificate(index, signers: signers, validators: validators)))
                    }
                    return made
                }
            }
            var all = [ChunkCertificate?](repeating: nil, count: count)
            for try await part in group { for (index, certificate) in part { all[index] = certificate } }
            return all.map { $0! }
        }
        try made[0].verify(against: validators, rules: Fixture.rules, domain: Fixture.domain)
        return CertificatePool(validators: validators, certificates: made)
    }

    private static func certificate(
        _ index: Int, signers: [Ed25519Signer], validators: ValidatorSet
    ) throws
        -> ChunkCertificate
    {
        let slot = 1 + UInt64(index)
        let reference = ChunkReference(
            chunkID: ChunkID(hashing: Array("dsmr-bench certificate \(index)".utf8)),
            producer: signers[index % signers.count].nodeID, slot: slot, expiry: Fixture.rules.expiry(ofSlot: slot))
        let shares = try (0..<signatureCount).map { offset in
            try SignatureShare.sign(
                reference, rules: Fixture.rules, signer: signers[(index + offset) % signers.count],
                domain: Fixture.domain)
        }
        return try ChunkCertificate.aggregate(
            reference: reference, shares: shares, validators: validators, rules: Fixture.rules)
    }
}
