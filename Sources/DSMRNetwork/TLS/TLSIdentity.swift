import Crypto
import NIOSSL
import SwiftASN1
import X509

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The certificate and private key a node shows in its TLS handshakes.
///
/// Each process makes its own at start (``generate(validFor:)``): a fresh
/// P-256 key in a self-signed certificate. No certificate authority vouches
/// for it, and TLS accepts any certificate; what makes it count is the peer
/// handshake, in which the node signs, with its validator key, the hash of
/// this certificate's public key (``keyHash``, see ``TLSBinding``). A
/// certificate that no validator key signed for is disconnected before any
/// of its frames is read.
public struct TLSIdentity: Sendable {
    /// The self-signed certificate.
    public let certificate: NIOSSLCertificate
    /// The certificate's private key.
    let privateKey: NIOSSLPrivateKey
    /// SHA-256 of the certificate's `SubjectPublicKeyInfo`: what the
    /// handshake proof binds (see ``TLSBinding/keyHash(of:)``).
    public let keyHash: [UInt8]

    /// A fresh P-256 key in a self-signed certificate valid from an hour
    /// ago for `validity`.
    ///
    /// - Throws: ``NetworkError/Code/tlsSetup`` when the certificate cannot
    ///   be built or loaded.
    public static func generate(
        validFor validity: Duration = .seconds(10 * 365 * 86_400)
    ) throws(NetworkError)
        -> TLSIdentity
    {
        let key = P256.Signing.PrivateKey()
        let issuerKey = Certificate.PrivateKey(key)
        do {
            let name = try DistinguishedName { CommonName("dsmr validator link") }
            let now = Date()
            let certificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: issuerKey.publicKey,
                notValidBefore: now - 3_600, notValidAfter: now + Double(validity.components.seconds),
                issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: Certificate.Extensions(), issuerPrivateKey: issuerKey)
            var serializer = DER.Serializer()
            try serializer.serialize(certificate)
            return try TLSIdentity(
                certificate: NIOSSLCertificate(bytes: serializer.serializedBytes, format: .der),
                privateKey: NIOSSLPrivateKey(bytes: Array(key.derRepresentation), format: .der))
        } catch let error as NetworkError {
            throw error
        } catch {
            throw NetworkError(.tlsSetup, "cannot make a self-signed TLS certificate: \(error)")
        }
    }

    /// An identity from a certificate and its private key.
    ///
    /// - Throws: ``NetworkError/Code/tlsSetup`` when the certificate's
    ///   public key cannot be read.
    public init(certificate: NIOSSLCertificate, privateKey: NIOSSLPrivateKey) throws(NetworkError) {
        self.certificate = certificate
        self.privateKey = privateKey
        do {
            keyHash = try TLSBinding.keyHash(of: certificate)
        } catch {
            throw NetworkError(.tlsSetup, "cannot read this node's TLS certificate: \(error.message)")
        }
    }
}
