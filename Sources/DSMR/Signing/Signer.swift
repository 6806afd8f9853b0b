/// Something that signs messages as one validator.
///
/// The scheme sits behind this protocol so an aggregate scheme can replace
/// Ed25519 later.
public protocol Signer: Sendable {
    /// The validator's id, derived from ``publicKey``.
    var nodeID: NodeID { get }
    /// The public key that verifies this signer's signatures.
    var publicKey: [UInt8] { get }
    /// Signs `message` exactly as given (callers pass domain-separated bytes).
    func sign(_ message: [UInt8]) throws -> [UInt8]
}

/// Checks signatures of one scheme.
public protocol SignatureVerifier: Sendable {
    /// Whether `signature` is a valid signature of `message` by `publicKey`.
    func isValid(signature: [UInt8], message: [UInt8], publicKey: [UInt8]) -> Bool
}
