import DSMR

/// Why an attestation, a state certificate, a snapshot offer or a snapshot
/// file was refused.
public struct StateSyncError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of refusal.
    public enum Code: String, Hashable, Sendable {
        /// Judged against another epoch's validator set.
        case wrongEpoch
        /// Signed by a node that is not a validator of the epoch.
        case unknownSigner
        /// A signature that does not verify.
        case badSignature
        /// The same validator counted twice.
        case duplicateSigner
        /// Less stake than the quorum behind a root.
        case insufficientWeight
        /// Attestations or a certificate for another height or root.
        case mismatch
        /// Bytes that do not decode, or a file cut short or damaged.
        case malformed
        /// A snapshot or certificate file could not be written.
        case io
        /// The peer serves no such snapshot, or none at all.
        case unavailable
    }

    /// What kind of refusal.
    public let code: Code
    /// What was wrong, for logs and operators.
    public let message: String

    /// A refusal.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
