/// Counts of what a ``TCPTransport`` refused and served.
public struct TransportStatistics: Sendable, Hashable {
    /// Connections closed because their handshake failed or timed out, or
    /// because their peer is banned.
    public var handshakesRefused = 0
    /// Connections in their handshake closed to make room for a newer one
    /// from the same address (or from another address without validators).
    public var handshakesEvicted = 0
    /// Connections closed because of an oversized or malformed frame.
    public var framesRefused = 0
    /// Connections closed because of an answer to a request id never sent on them.
    public var unsolicitedAnswers = 0
    /// Answers that came after their request timed out, dropped quietly.
    public var lateAnswers = 0
    /// Connections closed because their peer did not read: a write would
    /// have passed ``TCPTransportConfiguration/maxOutboundBacklogBytes``.
    public var backlogOverflows = 0
    /// The most bytes waiting to be taken by the socket on one connection at once.
    public var largestOutboundBacklog = 0
    /// Peers banned for their offences.
    public var bans = 0
    /// Requests answered with an overloaded reply.
    public var overloadedReplies = 0
    /// Gossip dropped because its sender had too much in hand.
    public var gossipDropped = 0
    /// Requests handed to the handler and answered.
    public var requestsServed = 0
    /// Gossip handed to the handler.
    public var gossipDelivered = 0
    /// Connections closed by the TLS layer: a failed TLS handshake, or a
    /// record that did not authenticate (bytes changed or injected on the path).
    public var tlsFailures = 0
}
