import DSMR
import DSMRNode
import Logging

/// How a ``TCPTransport`` listens, whom it lets in, and its bounds.
public struct TCPTransportConfiguration: Sendable {
    /// This validator's key; it signs the handshake and names the node.
    public var signer: any Signer
    /// The network and chain; a peer on another is refused.
    public var domain: SigningDomain
    /// The current validator set; only its members complete a handshake.
    /// Asked on every new connection, so a changed set takes effect for the
    /// next connection. A throw refuses the connection.
    public var validators: @Sendable () throws -> ValidatorSet
    /// The address to listen on.
    public var host = "127.0.0.1"
    /// The port to listen on; 0 picks a free one (see ``TCPTransport/port``).
    public var port = 0
    /// The largest frame body accepted, in bytes; a longer length prefix
    /// closes the connection before its body is read.
    public var maxFrameBytes: Int
    /// Requests (and gossip) from one peer handled at once, over all its
    /// connections; past it requests are answered with an
    /// `ErrorReply.Code.overloaded` reply and gossip is dropped.
    public var maxInFlightPerPeer = 64
    /// Connections from one peer kept at once; a newer one past it is closed.
    public var maxConnectionsPerPeer = 4
    /// Accepted connections still in their handshake at once; a further one
    /// is closed at once, so connections that never prove themselves cannot
    /// pile up (each is also closed after ``handshakeTimeout``).
    public var maxPendingHandshakes = 64
    /// How long a connection may take to prove itself.
    public var handshakeTimeout: Duration = .seconds(5)
    /// How long a dial may take.
    public var connectTimeout: Duration = .seconds(2)
    /// The pause after a failed dial before the next try; it doubles with
    /// each failure up to ``maxReconnectBackoff`` and resets on success.
    public var reconnectBackoff: Duration = .milliseconds(50)
    /// The longest pause between dials.
    public var maxReconnectBackoff: Duration = .seconds(2)
    /// Where the transport logs connections, refusals and failures.
    public var logger = Logger(label: "dsmr.network")

    /// A configuration whose largest frame fits the largest node message under `limits`.
    public init(
        signer: any Signer, domain: SigningDomain, limits: DecodingLimits = .default,
        validators: @escaping @Sendable () throws -> ValidatorSet
    ) {
        self.signer = signer
        self.domain = domain
        self.validators = validators
        // A request or response carries a kind byte and an 8-byte id before the message.
        maxFrameBytes = NodeMessage.maxEncodedBytes(limits: limits) + 9
    }
}
