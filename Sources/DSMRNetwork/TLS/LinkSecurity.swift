/// How a ``TCPTransport`` protects its connections.
public enum LinkSecurity: Sendable, Hashable, CustomStringConvertible {
    /// TLS 1.3 on every connection, both sides presenting a certificate,
    /// each side's TLS key bound to its validator key by the peer handshake
    /// (see <doc:NetworkTransport>). The default, and the only setting for
    /// a validator.
    case tls
    /// No TLS: frames travel in the clear and anyone on the path can read,
    /// change or inject them after the handshake. Only for measuring what
    /// TLS costs (`dsmr-bench`'s `devnet-plaintext` row); both ends must use
    /// it, since a TLS end and a plaintext end cannot talk.
    case plaintextForMeasurementOnly

    public var description: String {
        switch self {
        case .tls: "TLS 1.3"
        case .plaintextForMeasurementOnly: "plaintext (for measurement only)"
        }
    }
}
