import DSMR

/// Row 7: `ChunkCertificate.verify` with 100 validators and 67 signatures —
/// on one thread (against 67 bare Ed25519 verifications of the same
/// signatures), on every core (against one thread), and the same certificate
/// over and over (against distinct certificates on one thread).
enum VerifyRows {
    static func run(_ selected: Set<RowName>, _ context: BenchContext) async throws -> [Row] {
        let scale = context.scale
        let pool = try await context.certificates()
        let validators = pool.validators
        let domain = Fixture.domain
        let rules = Fixture.rules
        let one = Array(pool.certificates.prefix(scale.verifyOne))
        var repeatedPool: [ChunkCertificate] = []
        while repeatedPool.count < scale.verifyAll {
            repeatedPool += pool.certificates.prefix(scale.verifyAll - repeatedPool.count)
        }
        let many = repeatedPool
        // The baseline's work, prepared outside the timing: per certificate,
        // the signed message and each signer's key and signature.
        let bare = one.map { certificate in
            (
                message: SignatureShare.message(
                    for: certificate.reference, epoch: certificate.epoch, domain: domain),
                pairs: zip(certificate.signers.indices, certificate.signatures).map {
                    (key: validators.validators[$0.0].publicKey, signature: $0.1)
                }
            )
        }
        let workers = processorCount

        var oneRates: [Double] = []
        var bareRates: [Double] = []
        var allRates: [Double] = []
        var cachedRates: [Double] = []
        var coresUsed: [Double] = []
        var oneCoresUsed: [Double] = []
        for round in 0..<scale.rounds {
            let oneTime = try measured {
                for certificate in one { try certificate.verify(against: validators, rules: rules, domain: domain) }
            }
            oneRates.append(Double(one.count) / oneTime.wall)
            oneCoresUsed.append(oneTime.cpu / oneTime.wall)

            if selected.contains(.certVerify1) {
                let verifier = Ed25519Verifier()
                var valid = 0
                let bareTime = seconds {
                    for item in bare {
                        for pair in item.pairs
                        where verifier.isValid(signature: pair.signature, message: item.message, publicKey: pair.key) {
                            valid += 1
                        }
                    }
                }
                guard valid == bare.count * CertificatePool.signatureCount else {
                    throw BenchError("cert-verify-1: a bare signature did not verify")
                }
                bareRates.append(Double(bare.count) / bareTime)
            }

            if selected.contains(.certVerifyAll) {
                let allTime = try await measured {
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for worker in 0..<workers {
                            group.addTask {
                                for index in stride(from: worker, to: many.count, by: workers) {
                                    try many[index].verify(against: validators, rules: rules, domain: domain)
                                }
                            }
                        }
                        try await group.waitForAll()
                    }
                }
                allRates.append(Double(many.count) / allTime.wall)
                coresUsed.append(allTime.cpu / allTime.wall)
            }

            if selected.contains(.certVerifyCached) {
                // What a node does with a certificate it sees again (gossip,
                // then a block, then the next blocks' validity window).
                let cache = CertificateVerificationCache()
                let repeated = one[0]
                let repeats = one.count * 100
                let cachedTime = try seconds {
                    for _ in 0..<repeats {
                        try cache.verify(repeated, against: validators, rules: rules, domain: domain)
                    }
                }
                cachedRates.append(Double(repeats) / cachedTime)
            }
            log("  cert-verify round \(round + 1): one thread \(pretty(oneRates.last!)) certificates/s")
        }

        let oneRate = median(oneRates)
        var rows: [Row] = []
        if selected.contains(.certVerify1) {
            var row = Row(
                .certVerify1, unit: "certs/s", value: oneRate, baseline: median(bareRates),
                baselineLabel: "67 bare Ed25519 verifications per certificate")
            row.notes = ["100 validators, 67 signatures, one thread"]
            rows.append(row)
        }
        if selected.contains(.certVerifyAll) {
            var row = Row(
                .certVerifyAll, unit: "certs/s", value: median(allRates), baseline: oneRate,
                baselineLabel: "cert-verify-1")
            let goal = 0.8 * Double(workers)
            row.goals = [
                Goal(text: "ratio >= \(fixed(goal, decimals: 1)) (\(workers) cores)", met: (row.ratio ?? 0) >= goal)
            ]
            row.notes = [
                "\(many.count) certificates over \(workers) tasks (one per core); CPU the process got: "
                    + "\(fixed(median(coresUsed), decimals: 2)) cores here, \(fixed(median(oneCoresUsed), decimals: 2)) in cert-verify-1"
            ]
            row.extra = [("cores_used", median(coresUsed)), ("cores_used_one_thread", median(oneCoresUsed))]
            rows.append(row)
        }
        if selected.contains(.certVerifyCached) {
            var row = Row(
                .certVerifyCached, unit: "certs/s", value: median(cachedRates), baseline: oneRate,
                baselineLabel: "cert-verify-1")
            row.notes = [
                "the same certificate again and again through CertificateVerificationCache: the first verifies, "
                    + "the rest cost a SHA-256 of the certificate and a set lookup"
            ]
            rows.append(row)
        }
        return rows
    }
}
