import DSMR

/// The largest value each table can legally hold, so that a value read from
/// outside the store (a dump being loaded) is refused by its declared length
/// before it is read.
///
/// | table | largest value |
/// |---|---|
/// | `meta` | the largest row it holds: the rules (`RulesRow`) |
/// | `chunks` | the record header and a chunk of `Rules.maxChunkBytes` |
/// | `by_slot_producer`, `by_expiry`, `signed`, `ledger` | their fixed size |
/// | `certificates` | form and checksum, then a certificate signed by all of `DecodingLimits.maxValidators` |
/// | `evidence` | version, chunk id, a key of `EvidenceRow.maxKeyBytes`, two chunks of `maxChunkBytes` |
/// | `blocks` | a block of `DecodingLimits.maxBlockBytes`, a state root and a checksum |
///
/// The rules are the store's own: a dump carries them in its `meta` rows,
/// which come before every other table's. Without rules (a dump with no
/// rules row), chunks and evidence are bounded by the largest
/// `maxChunkBytes` valid rules allow, `UInt32.max`.
package struct ValueBounds {
    /// The limits under the store's rules.
    package let limits: DecodingLimits

    /// Bounds under `rules`, or under the largest chunks valid rules allow
    /// when nil; a `maxChunkBytes` outside what valid rules allow (0 to
    /// `UInt32.max`) is clamped to it, so no sum overflows.
    package init(rules: Rules?) {
        var clamped = rules ?? Rules()
        clamped.maxChunkBytes = rules.map { min(max($0.maxChunkBytes, 0), Int(UInt32.max)) } ?? Int(UInt32.max)
        limits = DecodingLimits(rules: clamped)
    }

    /// The largest `meta` value, needing no rules.
    package static let meta: Int =
        [
            UInt32Row.size, RulesRow.size, RetentionRow.size, Int64Row.size, UInt64Row.size, BlockTip.size,
            ChainID.byteCount, NodeID.byteCount,
        ]
        .compactMap { $0 }.max() ?? 0

    /// The largest value of the table `name` (one of `Schema.all`).
    package func largest(_ name: String) -> Int {
        switch name {
        case Schema.meta:
            return Self.meta
        case Schema.bySlotProducer:
            return IndexedExpiry.size ?? 0
        case Schema.byExpiry:
            return EmptyRow.size ?? 0
        case Schema.signed:
            return SignedRecord.size ?? 0
        case Schema.ledger:
            return Dimensions.fixedByteCount
        case Schema.chunks:
            return ChunkRecord.headerSize + limits.maxChunkBytes
        case Schema.certificates:
            return 1 + CertificateRow.checksumSize + Self.largestCertificate(limits)
        case Schema.evidence:
            return 1 + ChunkID.byteCount + 3 * 4 + EvidenceRow.maxKeyBytes + 2 * limits.maxChunkBytes
        case Schema.blocks:
            return limits.maxBlockBytes + StateRoot.byteCount + BlockRow.checksumSize
        default:
            return 0
        }
    }

    /// A certificate's canonical form at its largest: version (1), the
    /// reference (chunk id, producer, slot, expiry), the epoch (8), the
    /// signer bits (length 4 and one bit a validator) and every validator's
    /// signature (length 4 and bytes each).
    package static func largestCertificate(_ limits: DecodingLimits) -> Int {
        let reference = ChunkID.byteCount + NodeID.byteCount + 8 + 8
        return 1 + reference + 8 + 4 + (limits.maxValidators + 7) / 8
            + limits.maxValidators * (4 + limits.maxSignatureBytes)
    }
}
