import DSMR
import FuzzSupport

fuzz { input in
    guard let certificate = try? ChunkCertificate(decoding: input) else { return }
    expectCanonical(input, certificate.encoded(), "chunk certificate")
    precondition(certificate.signatures.count == certificate.signers.count, "signatures do not match signers")
}
