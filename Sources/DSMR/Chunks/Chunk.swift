/// A batch of opaque transactions a producer proposes for one slot, signed by
/// the producer.
///
/// Two chunks are equal when their ids are equal; the id is the SHA-256 of the
/// canonical signed encoding, computed once at initialisation.
public struct Chunk: Hashable, Sendable {
    /// The validator that built and signed the chunk.
    public let producer: NodeID
    /// Who is credited for the chunk's fees.
    public let beneficiary: NodeID
    /// The slot the chunk belongs to.
    public let slot: UInt64
    /// The transactions, opaque at this layer.
    public let transactions: [[UInt8]]
    /// The producer's signature over ``unsignedBytes`` under the ``SigningTag/chunk`` tag.
    public let signature: [UInt8]
    /// The SHA-256 of ``encoded()``.
    public private(set) var id: ChunkID

    /// The smallest possible encoding: no transactions and an empty signature.
    public static let minimumEncodedBytes = 1 + 2 * NodeID.byteCount + 8 + 4 + 4

    /// Assembles a chunk from its parts; see ``sign(producer:beneficiary:slot:transactions:domain:)``
    /// to make a signed one.
    ///
    /// - Throws: ``CodecError/Code/limitExceeded`` when a transaction, the
    ///   transaction count or the signature does not fit a `UInt32` length.
    public init(
        producer: NodeID, beneficiary: NodeID, slot: UInt64, transactions: [[UInt8]], signature: [UInt8]
    ) throws(CodecError) {
        let limit = Int(UInt32.max)
        func tooLong(_ field: String, _ count: Int) -> CodecError {
            CodecError(code: .limitExceeded, field: field, message: "\(count) does not fit a UInt32 length")
        }
        if transactions.count > limit { throw tooLong("chunk.transactions", transactions.count) }
        for (index, transaction) in transactions.enumerated() where transaction.count > limit {
            throw tooLong("chunk.transactions[\(index)]", transaction.count)
        }
        if signature.count > limit { throw tooLong("chunk.signature", signature.count) }
        self.init(
            unchecked: producer, beneficiary: beneficiary, slot: slot, transactions: transactions,
            signature: signature)
    }

    private init(
        unchecked producer: NodeID, beneficiary: NodeID, slot: UInt64, transactions: [[UInt8]], signature: [UInt8]
    ) {
        self.producer = producer
        self.beneficiary = beneficiary
        self.slot = slot
        self.transactions = transactions
        self.signature = signature
        self.id = ChunkID(value: .zero)
        self.id = ChunkID(hashing: encoded())
    }

    /// Builds and signs a chunk as `signer`, who becomes its producer.
    public static func sign(
        producer signer: some Signer, beneficiary: NodeID, slot: UInt64, transactions: [[UInt8]],
        domain: SigningDomain
    ) throws -> Chunk {
        let unsigned = try Chunk(
            producer: signer.nodeID, beneficiary: beneficiary, slot: slot, transactions: transactions,
            signature: [])
        let signature = try signer.sign(domain.message(.chunk, unsigned.unsignedBytes))
        return try Chunk(
            producer: signer.nodeID, beneficiary: beneficiary, slot: slot, transactions: transactions,
            signature: signature)
    }

    /// The bytes the producer signs: the version byte and every field but the signature.
    public var unsignedBytes: [UInt8] {
        var writer = CanonicalWriter(capacity: encodedSize)
        writer.write(Self.formatVersion)
        encodeUnsigned(to: &writer)
        return writer.bytes
    }

    /// Whether ``signature`` is the producer's over this chunk in `domain`.
    ///
    /// False as well when `publicKey` is not the producer's key.
    public func verifySignature(
        publicKey: [UInt8], domain: SigningDomain, verifier: some SignatureVerifier = Ed25519Verifier()
    ) -> Bool {
        guard NodeID(publicKey: publicKey) == producer else { return false }
        return verifier.isValid(
            signature: signature, message: domain.message(.chunk, unsignedBytes), publicKey: publicKey)
    }

    /// The size of ``encoded()`` in bytes.
    public var encodedSize: Int {
        transactions.reduce(Self.minimumEncodedBytes + signature.count) { $0 + 4 + $1.count }
    }

    public static func == (a: Chunk, b: Chunk) -> Bool { a.id == b.id }
    public func hash(into hasher: inout Hasher) { hasher.combine(id) }
}

extension Chunk: CanonicalValue {
    public static let formatVersion: UInt8 = 1
    public static let codecName: StaticString = "chunk"
    public static func maxEncodedBytes(limits: DecodingLimits) -> Int { limits.maxChunkBytes }

    /// `producer (20) || beneficiary (20) || slot (u64) || count (u32) ||
    /// count × (length (u32) || transaction) || signature length (u32) || signature`.
    public func encode(to writer: inout CanonicalWriter) {
        encodeUnsigned(to: &writer)
        writer.writeLengthPrefixed(signature)
    }

    private func encodeUnsigned(to writer: inout CanonicalWriter) {
        writer.write(producer)
        writer.write(beneficiary)
        writer.write(slot)
        writer.writeCount(transactions.count)
        for transaction in transactions { writer.writeLengthPrefixed(transaction) }
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        let producer = try reader.read(NodeID.self, "producer")
        let beneficiary = try reader.read(NodeID.self, "beneficiary")
        let slot = try reader.readUInt64("slot")
        let limits = reader.limits
        let count = try reader.readCount(
            "transactions", limit: limits.maxTransactionsPerChunk, minimumElementSize: 4)
        var transactions: [[UInt8]] = []
        transactions.reserveCapacity(count)
        try reader.nested("transactions") { (reader) throws(CodecError) in
            for index in 0..<count {
                transactions.append(
                    try reader.element(index) { (reader) throws(CodecError) in
                        try reader.readLengthPrefixed(nil, limit: limits.maxTransactionBytes)
                    })
            }
        }
        let signature = try reader.readLengthPrefixed("signature", limit: limits.maxSignatureBytes)
        self.init(
            unchecked: producer, beneficiary: beneficiary, slot: slot, transactions: transactions,
            signature: signature)
    }
}
