import DSMR
import FuzzSupport

// Verifies certificates decoded from fuzz bytes against the golden vectors'
// validator set (seeds 1-4, weight 10, epoch 7; 6-second epochs put slot 42
// in epoch 7), directly and through one long-lived cache: both must agree,
// error for error, and a second pass through the cache must too.
let signers = (1...4).map { try! Ed25519Signer(seed: [UInt8](repeating: UInt8($0), count: 32)) }
let validators = try! ValidatorSet(epoch: 7, validators: signers.map { Validator(publicKey: $0.publicKey, weight: 10) })
let rules = Rules(epochDuration: 6_000)
let domain = SigningDomain(networkID: 1337, chainID: try! ChainID(bytes: (0..<32).map { UInt8($0) }))
let cache = CertificateVerificationCache(capacity: 64, rejectedCapacity: 64)

func outcome(_ body: () throws(CertificateError) -> Void) -> CertificateError? {
    do {
        try body()
        return nil
    } catch {
        return error
    }
}

fuzz { input in
    guard let certificate = try? ChunkCertificate(decoding: input) else { return }
    let direct = outcome { () throws(CertificateError) in
        try certificate.verify(against: validators, rules: rules, domain: domain)
    }
    for pass in 1...2 {
        let cached = outcome { () throws(CertificateError) in
            try cache.verify(certificate, against: validators, rules: rules, domain: domain)
        }
        precondition(
            cached?.code == direct?.code && cached?.signer == direct?.signer,
            "pass \(pass): cached \(cached.map(String.init(describing:)) ?? "ok") but direct "
                + "\(direct.map(String.init(describing:)) ?? "ok")")
    }
}
