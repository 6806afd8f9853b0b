/// Upper bounds a decoder enforces before it allocates anything.
///
/// Every declared length and count is checked against the remaining input and
/// against these limits, so hostile input cannot make a decoder allocate more
/// than a small multiple of its own size.
public struct DecodingLimits: Hashable, Sendable {
    /// The largest encoded chunk accepted.
    public var maxChunkBytes: Int
    /// The most transactions in one chunk.
    public var maxTransactionsPerChunk: Int
    /// The largest single transaction.
    public var maxTransactionBytes: Int
    /// The largest signature (64 for Ed25519).
    public var maxSignatureBytes: Int
    /// The most validators in a set, and so the most signers in a certificate.
    public var maxValidators: Int
    /// The most certificates in one block.
    public var maxCertificatesPerBlock: Int
    /// The largest encoded block accepted.
    public var maxBlockBytes: Int

    /// Limits with the given bounds; the defaults match ``Rules/default``.
    public init(
        maxChunkBytes: Int = Rules.default.maxChunkBytes,
        maxTransactionsPerChunk: Int = 65_536,
        maxTransactionBytes: Int = Rules.default.maxChunkBytes,
        maxSignatureBytes: Int = 64,
        maxValidators: Int = 4_096,
        maxCertificatesPerBlock: Int = 4_096,
        maxBlockBytes: Int = 16 << 20
    ) {
        self.maxChunkBytes = maxChunkBytes
        self.maxTransactionsPerChunk = maxTransactionsPerChunk
        self.maxTransactionBytes = maxTransactionBytes
        self.maxSignatureBytes = maxSignatureBytes
        self.maxValidators = maxValidators
        self.maxCertificatesPerBlock = maxCertificatesPerBlock
        self.maxBlockBytes = maxBlockBytes
    }

    /// The default limits, matching ``Rules/default``.
    public static let `default` = DecodingLimits()

    /// Limits for chunks no larger than `rules.maxChunkBytes`, defaults otherwise.
    public init(rules: Rules) {
        self.init(maxChunkBytes: rules.maxChunkBytes, maxTransactionBytes: rules.maxChunkBytes)
    }
}
