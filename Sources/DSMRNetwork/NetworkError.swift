/// Why a connection was refused or closed: a bad frame, a failed TLS or
/// peer handshake, tampered bytes, or a transport that is shutting down.
public struct NetworkError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: Hashable, Sendable, CustomStringConvertible {
        /// A frame's length prefix is above the configured maximum; its body
        /// is never read.
        case frameTooLarge
        /// A frame's body does not decode: unknown kind, wrong length, missing fields.
        case malformedFrame
        /// The peer's hello names another network or chain, or another
        /// protocol version.
        case wrongNetwork
        /// The peer's node id is not a validator of the current set (or is
        /// not the node dialed, or is this node itself).
        case notAValidator
        /// The peer's handshake signature does not verify: not made with the
        /// validator's key, or made for another connection's TLS keys (see
        /// ``TLSBinding``).
        case badSignature
        /// The TLS layer refused the connection: the TLS handshake failed
        /// (another TLS version, no certificate), or a record did not
        /// authenticate (bytes changed or injected on the path). Not charged
        /// to the peer: anyone on the path can cause it.
        case tlsFailure
        /// The peer's TLS certificate is missing or its public key cannot be
        /// read, so the handshake proof cannot be checked against it.
        case peerCertificate
        /// This node cannot make its TLS certificate, key or context.
        case tlsSetup
        /// A frame arrived that the handshake's state does not allow.
        case unexpectedFrame
        /// The handshake did not finish in time.
        case handshakeTimeout
        /// An answer to a request id this node never sent on that connection.
        case unsolicitedAnswer
        /// The peer does not read what this node writes: the connection's
        /// backlog would pass its cap.
        case outboundBacklog
        /// The peer is banned for its offences, for a while.
        case peerBanned
        /// This node's key could not sign its handshake proof.
        case signingFailed
        /// The transport is shutting down.
        case shuttingDown

        public var description: String {
            switch self {
            case .frameTooLarge: "frame too large"
            case .malformedFrame: "malformed frame"
            case .wrongNetwork: "wrong network"
            case .notAValidator: "not a validator"
            case .badSignature: "bad signature"
            case .tlsFailure: "TLS failure"
            case .peerCertificate: "peer certificate"
            case .tlsSetup: "TLS setup"
            case .unexpectedFrame: "unexpected frame"
            case .handshakeTimeout: "handshake timeout"
            case .unsolicitedAnswer: "unsolicited answer"
            case .outboundBacklog: "outbound backlog"
            case .peerBanned: "peer banned"
            case .signingFailed: "signing failed"
            case .shuttingDown: "shutting down"
            }
        }
    }

    /// What went wrong.
    public let code: Code
    /// Details: which field, which sizes, which peer.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
