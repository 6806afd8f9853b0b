/// What one validator did on this node's connections, and whether it is
/// banned now; see ``TCPTransport/peerStatistics()``.
public struct PeerStatistics: Sendable, Hashable {
    /// Connections with the peer that this node closed because of the
    /// peer: an offence, a reply backlog past
    /// ``TCPTransportConfiguration/maxOutboundBacklogBytes``, or a ban.
    public var disconnects = 0
    /// Answers to request ids this node never sent on that connection.
    public var unsolicitedAnswers = 0
    /// Answers that came after their request timed out, dropped quietly.
    public var lateAnswers = 0
    /// Frames that did not decode, came out of turn, or were longer than
    /// ``TCPTransportConfiguration/maxFrameBytes``.
    public var malformedFrames = 0
    /// Signatures in what the peer sent that did not verify (a chunk it
    /// asked to have signed, a share it answered, a certificate it
    /// gossiped), found by the node core.
    public var invalidSignatures = 0
    /// Messages from the peer that the node core found invalid: undecodable,
    /// not a request, or an answer to something else.
    public var invalidMessages = 0
    /// Connections closed because the peer did not read its replies.
    public var backlogOverflows = 0
    /// Times the peer ran out of budget and was banned.
    public var bans = 0
    /// What is left of the current ban, or nil when the peer is not banned.
    public var banRemaining: Duration?

    public init() {}
}
