import Crypto
import NIOSSL

/// What a handshake proof binds besides the two hellos: the TLS keys of
/// the connection, as the signer sees them.
///
/// Each side signs its own certificate's key hash and the key hash of the
/// certificate the peer presented on this connection. A peer that relays
/// the handshake between two validators (terminating TLS with each) shows
/// each of them its own certificate, so the proofs it relays name keys
/// the receiver did not see: they do not verify, and the connection is
/// closed before any frame after the handshake is read. On a plaintext
/// link (``LinkSecurity/plaintextForMeasurementOnly``) both hashes are
/// ``plaintextKeyHash``.
public struct TLSBinding: Sendable, Hashable {
    /// The key hash that stands for "no TLS": 32 zero bytes.
    public static let plaintextKeyHash = [UInt8](repeating: 0, count: keyHashBytes)
    /// The bytes of a key hash (SHA-256).
    public static let keyHashBytes = 32

    /// The hash of this node's own certificate's key.
    public var own: [UInt8]
    /// The hash of the peer's certificate's key on this connection.
    public var peer: [UInt8]

    /// A binding from both key hashes.
    public init(own: [UInt8], peer: [UInt8]) {
        self.own = own
        self.peer = peer
    }

    /// The binding of a plaintext link.
    public static let plaintext = TLSBinding(own: plaintextKeyHash, peer: plaintextKeyHash)

    /// The same connection seen from the other end.
    public var reversed: TLSBinding { TLSBinding(own: peer, peer: own) }

    /// SHA-256 of the DER `SubjectPublicKeyInfo` of `certificate`'s key.
    ///
    /// - Throws: ``NetworkError/Code/peerCertificate`` when the key cannot be read.
    public static func keyHash(of certificate: NIOSSLCertificate) throws(NetworkError) -> [UInt8] {
        do {
            let info = try certificate.extractPublicKey().toSPKIBytes()
            return Array(SHA256.hash(data: info))
        } catch {
            throw NetworkError(.peerCertificate, "cannot read the public key of a TLS certificate: \(error)")
        }
    }
}
