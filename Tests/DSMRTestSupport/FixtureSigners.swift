import DSMR

/// Deterministic Ed25519 keys: a test target's fixture type conforms to get
/// ``signer(_:)`` and ``signers(_:)``, so that the same number is the same
/// key in every test target.
public protocol FixtureSigners {}

extension FixtureSigners {
    /// The signer whose 32-byte seed is `n` repeated.
    public static func signer(_ n: UInt8) -> Ed25519Signer {
        try! Ed25519Signer(seed: [UInt8](repeating: n, count: 32))
    }

    /// Signers 1...count.
    public static func signers(_ count: Int) -> [Ed25519Signer] {
        (1...count).map { signer(UInt8($0)) }
    }
}

/// The fixture signers, for tests with no fixture type of their own:
/// `TestKeys.signer(1)`.
public enum TestKeys: FixtureSigners {}
