import DSMR

/// Why a block failed verification; each check has its own code, in the
/// order ``Node/verify(block:parent:)`` makes them.
public struct BlockVerificationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Which check failed.
    public enum Code: Hashable, Sendable {
        /// The block's parent id is not the parent's id.
        case wrongParent
        /// The height is not the parent's plus one.
        case wrongHeight
        /// The timestamp is not after the parent's.
        case timestampNotAfterParent
        /// The timestamp is more than `maxBlockSkew` after the parent's.
        case timestampTooFarAhead
        /// The block has no certificate and lies less than `slotDuration`
        /// after its parent: a block without certificates only moves chain
        /// time, at most once a slot.
        case emptyBlockTooSoon
        /// The block has more than `maxCertificatesPerBlock` certificates or
        /// more than `maxBlockBytes` encoded (`DecodingLimits`).
        case tooLarge
        /// A certificate appears twice in the block, or in an ancestor within the validity window.
        case repeatedCertificate
        /// A certificate's chunk expired before the block's timestamp.
        case expiredCertificate
        /// A certificate is of neither the block's epoch nor the one before,
        /// or its epoch is not that of its chunk's slot.
        case wrongEpoch
        /// A certificate's expiry is not its slot's start plus `chunkLifetime`:
        /// no honest validator signs another.
        case expiryNotOfSlot
        /// A certificate's chunk expires after the parent's timestamp plus
        /// `validityWindow`: past the window a chunk server signs for at that
        /// chain time, and past what the repeat check looks back over.
        case expiryBeyondWindow
        /// A certificate's slot lies more than `maxFutureSlots` after the
        /// slot of the block's timestamp.
        case slotTooFarAhead
        /// A certificate's producer is not a validator of its epoch.
        case producerNotAValidator
        /// A certificate's signers do not reach the quorum of its epoch's stake.
        case belowQuorum
        /// A certificate's signature does not verify.
        case badSignature
        /// A certificate is wrong in another way (signers outside the set, no
        /// validator set known for its epoch).
        case invalidCertificate
    }

    /// Which check failed.
    public let code: Code
    /// The certificate at fault, by position in the block, if any.
    public let certificateIndex: Int?
    /// Details.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, certificate index: Int? = nil, _ message: String) {
        self.code = code
        self.certificateIndex = index
        self.message = message
    }

    public var description: String { "block: \(message)" }
}
