/// A certificate could not be aggregated or did not verify.
public struct CertificateError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure this is; compare with the static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case insufficientWeight, duplicateSigner, signerOutsideSet, badSignature, wrongEpoch, epochNotOfSlot
            case referenceMismatch, signatureCountMismatch
        }
        private let base: Base
        /// The signers' weight does not reach the quorum.
        public static let insufficientWeight = Code(base: .insufficientWeight)
        /// Two shares come from the same signer.
        public static let duplicateSigner = Code(base: .duplicateSigner)
        /// A signer is not in the epoch's validator set.
        public static let signerOutsideSet = Code(base: .signerOutsideSet)
        /// A signature does not verify under its signer's key; ``CertificateError/signer`` names the
        /// signer. Verification stops at the first one, so a certificate for another network, chain
        /// or epoch, or an entirely forged one, fails with this code too.
        public static let badSignature = Code(base: .badSignature)
        /// The validator set's epoch, or a share's, is not the certificate's.
        public static let wrongEpoch = Code(base: .wrongEpoch)
        /// The certificate's epoch is not the one the rules give its chunk's slot
        /// (``Rules/epoch(ofSlot:)``): it was relabelled, or made under other rules.
        public static let epochNotOfSlot = Code(base: .epochNotOfSlot)
        /// A share signs a different chunk reference.
        public static let referenceMismatch = Code(base: .referenceMismatch)
        /// The number of signatures differs from the number of signers.
        public static let signatureCountMismatch = Code(base: .signatureCountMismatch)

        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public let code: Code
    /// The signer at fault, when there is one.
    public let signer: NodeID?
    /// What failed, naming the signer, epoch or weights involved.
    public let message: String

    /// Creates an error; `signer` names the signer at fault, if any.
    public init(code: Code, signer: NodeID? = nil, message: String) {
        self.code = code
        self.signer = signer
        self.message = message
    }

    public var description: String { "certificate: \(message)" }
}
