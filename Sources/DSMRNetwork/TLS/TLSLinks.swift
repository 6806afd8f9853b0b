import NIOCore
import NIOSSL

/// The TLS side of a transport's connections: TLS 1.3 only (minimum and
/// maximum), this node's ``TLSIdentity`` presented on both ends, and a
/// certificate required from the peer on both ends (the listener asks the
/// dialer for one).
///
/// TLS itself accepts any certificate the peer holds the key of: no
/// authority vouches for validators' certificates. The peer handshake that
/// runs inside TLS then checks, with ``TLSBinding``, that the validator's
/// key signed for exactly the certificate this connection presented.
package struct TLSLinks: Sendable {
    /// What this node presents.
    package let identity: TLSIdentity
    private let server: NIOSSLContext
    private let client: NIOSSLContext

    /// Contexts for both roles around `identity`.
    ///
    /// - Throws: ``NetworkError/Code/tlsSetup`` when a context cannot be made.
    package init(identity: TLSIdentity) throws(NetworkError) {
        self.identity = identity
        do {
            server = try NIOSSLContext(
                configuration: Self.configuration(
                    .makeServerConfiguration(
                        certificateChain: [.certificate(identity.certificate)],
                        privateKey: .privateKey(identity.privateKey))))
            var dialing = TLSConfiguration.makeClientConfiguration()
            dialing.certificateChain = [.certificate(identity.certificate)]
            dialing.privateKey = .privateKey(identity.privateKey)
            client = try NIOSSLContext(configuration: Self.configuration(dialing))
        } catch {
            throw NetworkError(.tlsSetup, "cannot make the TLS contexts: \(error)")
        }
    }

    private static func configuration(_ base: TLSConfiguration) -> TLSConfiguration {
        var configuration = base
        configuration.minimumTLSVersion = .tlsv13
        configuration.maximumTLSVersion = .tlsv13
        // A certificate is required from the peer; the callback below, not a
        // chain to a root, decides which are accepted.
        configuration.certificateVerification = .noHostnameVerification
        configuration.trustRoots = .certificates([])
        configuration.renegotiationSupport = .none
        return configuration
    }

    /// The TLS handler for the front of a connection's pipeline.
    package func handler(dialer: Bool) throws(NetworkError) -> NIOSSLHandler {
        if dialer {
            do {
                return try NIOSSLClientHandler(
                    context: client, serverHostname: nil, customVerificationCallback: Self.acceptPresented)
            } catch {
                throw NetworkError(.tlsSetup, "cannot start TLS on a dialed connection: \(error)")
            }
        }
        return NIOSSLServerHandler(context: server, customVerificationCallback: Self.acceptPresented)
    }

    /// Accepts whatever certificate the peer presented (the TLS handshake
    /// has proved it holds the certificate's key); none at all fails.
    @Sendable
    private static func acceptPresented(
        _ certificates: [NIOSSLCertificate], _ promise: EventLoopPromise<NIOSSLVerificationResult>
    ) {
        promise.succeed(certificates.isEmpty ? .failed : .certificateVerified)
    }

    /// The key hash of the certificate the peer presented on `pipeline`'s
    /// connection; on the channel's event loop, after the TLS handshake.
    ///
    /// - Throws: ``NetworkError/Code/peerCertificate`` when the connection
    ///   has no TLS handler or the peer presented no certificate.
    package static func peerKeyHash(
        on pipeline: ChannelPipeline.SynchronousOperations
    ) throws(NetworkError)
        -> [UInt8]
    {
        let certificate: NIOSSLCertificate?
        do {
            certificate = try pipeline.nioSSL_peerCertificate()
        } catch {
            throw NetworkError(.peerCertificate, "the connection has no TLS session: \(error)")
        }
        guard let certificate else { throw NetworkError(.peerCertificate, "the peer presented no TLS certificate") }
        return try TLSBinding.keyHash(of: certificate)
    }
}
