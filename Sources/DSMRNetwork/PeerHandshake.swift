import DSMR

extension SigningTag {
    /// A validator's proof, when connecting, that it holds its key.
    package static let peerHandshake = SigningTag("dsmr/peer-handshake/v1")
}

/// What each side of a connection signs to prove it holds a validator's key.
///
/// The dialer sends its ``Hello``, the listener answers with its own, the
/// dialer sends its ``Frame/proof(signature:)``, and the listener, once that
/// proof verifies, sends its own. Each signs, under `SigningTag.peerHandshake`
/// and the network's `SigningDomain`,
/// `ownNonce || otherNonce || ownNodeID || otherNodeID`: both fresh nonces
/// make a proof good for one connection only, and the order of the fields
/// keeps one side's proof from being replayed as the other's. The listener
/// signs nothing for a peer that has not proved itself first.
public enum PeerHandshake {
    /// The bytes `signer` signs for a connection where it sent `own` and received `other`.
    package static func message(domain: SigningDomain, own: Hello, other: Hello) -> [UInt8] {
        domain.message(.peerHandshake, own.nonce + other.nonce + own.nodeID.bytes + other.nodeID.bytes)
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

    /// Checks the peer's proof: its signature over the message it had to sign.
    public static func checkProof(
        _ signature: [UInt8], from validator: Validator, domain: SigningDomain, own: Hello, other: Hello,
        verifier: any SignatureVerifier = Ed25519Verifier()
    ) throws(NetworkError) {
        let message = message(domain: domain, own: other, other: own)
        guard verifier.isValid(signature: signature, message: message, publicKey: validator.publicKey) else {
            throw NetworkError(.badSignature, "handshake signature of \(validator.nodeID) does not verify")
        }
    }
}
