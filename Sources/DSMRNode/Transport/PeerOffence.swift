import DSMR

/// Something a peer sent that no honest validator sends, found by the node
/// core once the transport has delivered it; see
/// ``Transport/penalize(_:for:)``.
///
/// Only what the sending peer itself answers for is an offence: a chunk in
/// a share request is signed by the producer that asks, a share by the
/// signer that answers, a certificate was verified by whoever gossips it,
/// and a served chunk came out of the server's own store. Timing (an
/// expired chunk, a slot too far ahead) and refusals are never offences:
/// honest validators' clocks and chains differ a little.
public enum PeerOffence: Sendable, Hashable, CustomStringConvertible {
    /// A signature that does not verify: a chunk's producer signature in a
    /// share request, a share, or a gossiped certificate's aggregate.
    case invalidSignature
    /// A message that does not decode, a request that is not one, or an
    /// answer that is not what was asked (a share for another reference, a
    /// chunk other than the one requested).
    case invalidMessage

    public var description: String {
        switch self {
        case .invalidSignature: "invalid signature"
        case .invalidMessage: "invalid message"
        }
    }
}

extension Transport {
    /// Does nothing: a transport that keeps no score of its peers ignores offences.
    public func penalize(_ peer: NodeID, for offence: PeerOffence) {}
}
