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
    /// Accepted connections still in their handshake at once from the
    /// addresses where no validator is configured, all such addresses
    /// together. A further one pushes out the oldest of them, so
    /// connections that never prove themselves cannot pile up, nor keep a
    /// newer one out for long. Validators' addresses have slots of their
    /// own (see ``maxPendingHandshakesPerAddress``).
    public var maxPendingHandshakes = 64
    /// Accepted connections still in their handshake at once from one
    /// source address (times the validators configured at that address,
    /// whose slots are kept for it). A further one from the same address
    /// pushes out the oldest from there.
    public var maxPendingHandshakesPerAddress = 4
    /// How long an accepted connection may take to send its ``Hello``.
    public var helloTimeout: Duration = .seconds(2)
    /// How long a connection may take to prove itself.
    public var handshakeTimeout: Duration = .seconds(5)
    /// The most bytes written to one connection that the socket has not
    /// taken yet (16 MiB). A peer whose replies do not drain is not read
    /// from until they do; a write that would pass this closes the
    /// connection instead (one frame is always let through, so a frame
    /// larger than this still reaches a peer that reads).
    public var maxOutboundBacklogBytes = 16 << 20
    /// The address dialed connections are bound to, so they leave from it
    /// (the port is picked by the system); nil lets the system choose.
    /// Validators sharing a host on loopback can each dial from their own
    /// 127.0.0.x, so peers tell them apart by source address.
    public var dialFrom: String?
    /// Offences (undecodable, out-of-turn or oversized frames, unsolicited
    /// answers) a validator may commit before the next one bans it; one is
    /// forgiven per ``offenceRefill``.
    public var offenceBudget = 3
    /// How long it takes a peer to earn back one offence.
    public var offenceRefill: Duration = .seconds(60)
    /// How long a peer's first ban lasts; each next one lasts twice the
    /// last, up to ``maxBan``. A banned peer's connections are closed, its
    /// handshakes refused and it is not dialed.
    public var initialBan: Duration = .seconds(1)
    /// The longest ban; after this long without an offence a peer's next
    /// ban is its first again.
    public var maxBan: Duration = .seconds(300)
    /// How long a dial may take.
    public var connectTimeout: Duration = .seconds(2)
    /// The pause after a failed dial before the next try; it doubles with
    /// each failure up to ``maxReconnectBackoff`` and resets on success.
    public var reconnectBackoff: Duration = .milliseconds(50)
    /// The longest pause between dials.
    public var maxReconnectBackoff: Duration = .seconds(2)
    /// How connections are protected: TLS 1.3 (the default), or plaintext
    /// for measuring TLS's cost only (see ``LinkSecurity``).
    public var linkSecurity = LinkSecurity.tls
    /// The TLS certificate and key this node presents; nil makes a fresh
    /// one (``TLSIdentity/generate(validFor:)``) when the transport starts.
    public var tlsIdentity: TLSIdentity?
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
