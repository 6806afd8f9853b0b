import Crypto

/// An Ed25519 signing key (swift-crypto's `Curve25519.Signing`).
///
/// `@unchecked Sendable`: the wrapped private key is an immutable value that
/// is never mutated after initialisation, so sharing it across threads is safe.
public struct Ed25519Signer: Signer, @unchecked Sendable {
    private let key: Curve25519.Signing.PrivateKey
    /// The 32-byte public key.
    public let publicKey: [UInt8]
    /// The node id of ``publicKey``.
    public let nodeID: NodeID

    /// The length of a seed, the private key's raw form.
    public static let seedByteCount = 32

    private init(key: Curve25519.Signing.PrivateKey) {
        self.key = key
        self.publicKey = Array(key.publicKey.rawRepresentation)
        self.nodeID = NodeID(publicKey: publicKey)
    }

    /// A fresh random key.
    public static func generate() -> Ed25519Signer {
        Ed25519Signer(key: Curve25519.Signing.PrivateKey())
    }

    /// The key whose raw form is `seed` (32 bytes): the same seed always gives
    /// the same key, for tests and devnets.
    public init(seed: some Collection<UInt8>) throws(KeyError) {
        guard seed.count == Self.seedByteCount else {
            throw KeyError(code: .invalidKey, message: "an Ed25519 seed has 32 bytes, got \(seed.count)")
        }
        var raw = Array(seed)
        defer { wipe(&raw) }
        do {
            self.init(key: try Curve25519.Signing.PrivateKey(rawRepresentation: raw))
        } catch {
            throw KeyError(code: .invalidKey, message: "invalid Ed25519 seed: \(error)")
        }
    }

    /// The 32-byte seed; keep it secret, and overwrite the array when done with it.
    public var seed: [UInt8] {
        Array(key.rawRepresentation)
    }

    /// Signs `message`; with swift-crypto on Linux the signature is deterministic.
    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        do {
            return Array(try key.signature(for: message))
        } catch {
            throw KeyError(code: .signing, message: "Ed25519 signing failed: \(error)")
        }
    }
}

/// Verifies Ed25519 signatures.
public struct Ed25519Verifier: SignatureVerifier {
    /// The length of an Ed25519 signature.
    public static let signatureByteCount = 64
    /// The length of an Ed25519 public key.
    public static let publicKeyByteCount = 32

    /// A verifier.
    public init() {}

    /// Whether `signature` (64 bytes) verifies `message` under `publicKey` (32 bytes).
    public func isValid(signature: [UInt8], message: [UInt8], publicKey: [UInt8]) -> Bool {
        guard signature.count == Self.signatureByteCount,
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey)
        else { return false }
        return key.isValidSignature(signature, for: message)
    }
}
