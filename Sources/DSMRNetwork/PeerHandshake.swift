import DSMR

extension SigningTag {
    /// A validator's proof, when connecting, that it holds its key.
    package static let peerHandshake = SigningTag("dsmr/peer-handshake/v2")
}

/// What each side of a connection signs to prove it holds a validator's key
/// and that the connection's TLS keys are the ones it sees.
///
/// The handshake runs inside TLS 1.3 (see ``LinkSecurity``). The dialer sends
/// its ``Hello``, the listener answers with its own, the dialer sends its
/// ``Frame/proof(signature:)``, and the listener, once that proof
/// verifies, sends its own. Each signs, under `SigningTag.peerHandshake`
/// (`dsmr/peer-handshake/v2`) and the network's `SigningDomain`,
/// `ownNonce || otherNonce || ownNodeID || otherNodeID || ownTLSKeyHash || peerTLSKeyHash`
/// (see ``TLSBinding``): both fresh nonces make a proof good for one
/// connection only, the order of the fields keeps one side's proof from
/// being replayed as the other's, and the key hashes tie it to the TLS
/// session it travels in, so a proof relayed into another TLS session does
/// not verify. The listener signs nothing for a peer that has not proved
/// itself first.
public enum PeerHandshake {
    /// The bytes a node signs for a connection where it sent `own`,
    /// received `other`, and sees the TLS keys of `binding`.
    package static func message(domain: SigningDomain, own: Hello, other: Hello, binding: TLSBinding) -> [UInt8] {
        var fields: [UInt8] = own.nonce + other.nonce
        fields += own.nodeID.bytes
        fields += other.nodeID.bytes
        fields += binding.own
        fields += binding.peer
        return domain.message(.peerHandshake, fields)
    }

    /// Checks the peer's hello against this node's domain and the validator set.
    ///
    /// - Parameters:
    ///   - hello: the hello the peer sent.
    ///   - domain: this node's network and chain.
    ///   - local: this node's id, which the peer may not claim.
    ///   - validators: the current validator set, which the peer must be in.
    ///   - expected: the node dialed, when this side dialed.
    /// - Returns: the peer's validator entry.
    public static func checkHello(
        _ hello: Hello, domain: SigningDomain, local: NodeID, validators: ValidatorSet, expected: NodeID?
    ) throws(NetworkError) -> Validator {
        guard hello.version == Hello.currentVersion else {
            throw NetworkError(
                .wrongNetwork, "handshake version \(hello.version), this node speaks \(Hello.currentVersion)")
        }
        guard hello.domain == domain else {
            throw NetworkError(.wrongNetwork, "peer is on \(hello.domain), this node on \(domain)")
        }
        if let expected, hello.nodeID != expected {
            throw NetworkError(.notAValidator, "dialed \(expected) but \(hello.nodeID) answered")
        }
        guard hello.nodeID != local else { throw NetworkError(.notAValidator, "peer claims this node's id \(local)") }
        guard let validator = validators.validator(hello.nodeID) else {
            throw NetworkError(
                .notAValidator, "\(hello.nodeID) is not in the validator set of epoch \(validators.epoch)")
        }
        return validator
    }

    /// Checks the peer's proof: its signature, with `validator`'s key, over
    /// the message it had to sign on this connection.
    ///
    /// - Parameters:
    ///   - signature: the peer's proof.
    ///   - validator: the validator the peer's hello named.
    ///   - domain: this node's network and chain.
    ///   - own: the hello this node sent.
    ///   - other: the hello the peer sent.
    ///   - binding: the connection's TLS keys as this node sees them: its
    ///     own certificate's, and the one the peer presented.
    ///   - verifier: checks the Ed25519 signature.
    /// - Throws: ``NetworkError/Code/badSignature`` when the signature is not
    ///   the validator's over this connection's hellos and TLS keys.
    public static func checkProof(
        _ signature: [UInt8], from validator: Validator, domain: SigningDomain, own: Hello, other: Hello,
        binding: TLSBinding, verifier: any SignatureVerifier = Ed25519Verifier()
    ) throws(NetworkError) {
        let message = message(domain: domain, own: other, other: own, binding: binding.reversed)
        guard verifier.isValid(signature: signature, message: message, publicKey: validator.publicKey) else {
            throw NetworkError(
                .badSignature,
                "handshake signature of \(validator.nodeID) does not verify for this connection's hellos and TLS keys")
        }
    }
}
