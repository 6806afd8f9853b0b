import Crypto

/// A batch of opaque transactions a producer proposes for one slot, signed by
/// the producer.
///
/// The producer signs ``signingDigest``, the SHA-256 of ``unsignedBytes``,
/// under the ``SigningTag/chunk`` tag, so signing and verifying cost the same
/// for any chunk size. Two chunks are equal when their ids are equal; the id
/// is the SHA-256 of the canonical signed encoding. Both hashes are computed
/// once at initialisation, in one pass over the bytes.
public struct Chunk: Hashable, Sendable {
    /// The validator that built and signed the chunk.
    public let producer: NodeID
    /// Who is credited for the chunk's fees.
    public let beneficiary: NodeID
    /// The slot the chunk belongs to.
    public let slot: UInt64
    /// The transactions, opaque at this layer.
    public let transactions: [[UInt8]]
    /// The producer's signature over ``signingDigest`` under the ``SigningTag/chunk``
    /// tag: over `domain.message(.chunk, signingDigest)`.
    public let signature: [UInt8]
    /// The SHA-256 of ``encoded()``.
    public private(set) var id: ChunkID
    /// The SHA-256 of ``unsignedBytes``; see ``signingDigest``.
    private var digest: Bytes32

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
        try Self.checkLengths(transactions: transactions)
        try Self.checkLengths(signature: signature)
        self.init(
            unchecked: producer, beneficiary: beneficiary, slot: slot, transactions: transactions,
            signature: signature)
    }

    private static func tooLong(_ field: String, _ count: Int) -> CodecError {
        CodecError(code: .limitExceeded, field: field, message: "\(count) does not fit a UInt32 length")
    }

    private static func checkLengths(transactions: [[UInt8]]) throws(CodecError) {
        let limit = Int(UInt32.max)
        if transactions.count > limit { throw tooLong("chunk.transactions", transactions.count) }
        for (index, transaction) in transactions.enumerated() where transaction.count > limit {
            throw tooLong("chunk.transactions[\(index)]", transaction.count)
        }
    }

    private static func checkLengths(signature: [UInt8]) throws(CodecError) {
        if signature.count > Int(UInt32.max) { throw tooLong("chunk.signature", signature.count) }
    }

    private init(
        unchecked producer: NodeID, beneficiary: NodeID, slot: UInt64, transactions: [[UInt8]], signature: [UInt8]
    ) {
        let hasher = Self.hashUnsigned(
            producer: producer, beneficiary: beneficiary, slot: slot, transactions: transactions)
        self.init(
            unchecked: producer, beneficiary: beneficiary, slot: slot, transactions: transactions,
            signature: signature, unsignedHasher: hasher, digest: Self.digest(of: hasher))
    }

    /// `unsignedHasher` has been fed exactly the unsigned bytes of these parts,
    /// and `digest` is its ``digest(of:)``.
    private init(
        unchecked producer: NodeID, beneficiary: NodeID, slot: UInt64, transactions: [[UInt8]], signature: [UInt8],
        unsignedHasher: SHA256, digest: Bytes32
    ) {
        self.producer = producer
        self.beneficiary = beneficiary
        self.slot = slot
        self.transactions = transactions
        self.signature = signature
        // One pass: the digest is a snapshot of the hasher after the unsigned
        // bytes; the id continues from there through the signature.
        self.digest = digest
        var hasher = unsignedHasher
        withUnsafeBytes(of: Self.length(signature.count).bigEndian) { hasher.update(bufferPointer: $0) }
        signature.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        self.id = ChunkID(value: hasher.finalize().withUnsafeBytes { Bytes32($0) })
    }

    /// A hasher fed the unsigned bytes of these parts: the version byte and
    /// every field but the signature, as ``unsignedBytes`` lays them out.
    private static func hashUnsigned(
        producer: NodeID, beneficiary: NodeID, slot: UInt64, transactions: [[UInt8]]
    ) -> SHA256 {
        var hasher = GatheringSHA256()
        withUnsafeBytes(of: formatVersion) { hasher.update($0) }
        visitUnsigned(producer: producer, beneficiary: beneficiary, slot: slot, transactions: transactions) {
            hasher.update($0)
        }
        return hasher.finish()
    }

    /// The SHA-256 of what `hasher` has been fed so far; `hasher` itself can go on.
    private static func digest(of hasher: SHA256) -> Bytes32 {
        let snapshot = hasher  // a value: finalizing the copy leaves `hasher` open
        return snapshot.finalize().withUnsafeBytes { Bytes32($0) }
    }

    /// Builds and signs a chunk as `signer`, who becomes its producer.
    ///
    /// The body is hashed once: the signer signs the resulting ``signingDigest``
    /// and the id continues from the same hash state through the signature.
    public static func sign(
        producer signer: some Signer, beneficiary: NodeID, slot: UInt64, transactions: [[UInt8]],
        domain: SigningDomain
    ) throws -> Chunk {
        try checkLengths(transactions: transactions)
        let producer = signer.nodeID
        let hasher = hashUnsigned(producer: producer, beneficiary: beneficiary, slot: slot, transactions: transactions)
        let unsignedDigest = digest(of: hasher)
        let signature = try unsignedDigest.withUnsafeBytes { (digest) throws -> [UInt8] in
            try signer.sign(domain.message(.chunk, digest))
        }
        try checkLengths(signature: signature)
        return Chunk(
            unchecked: producer, beneficiary: beneficiary, slot: slot, transactions: transactions,
            signature: signature, unsignedHasher: hasher, digest: unsignedDigest)
    }

    /// The bytes the producer's signature commits to: the version byte and every field but the signature.
    ///
    /// The producer signs their SHA-256, ``signingDigest``, rather than these bytes.
    public var unsignedBytes: [UInt8] {
        var writer = CanonicalWriter(capacity: encodedSize - 4 - signature.count)
        writer.write(Self.formatVersion)
        encodeUnsigned(to: &writer)
        return writer.bytes
    }

    /// The 32-byte SHA-256 of ``unsignedBytes``: the producer signs
    /// `domain.message(.chunk, signingDigest)`.
    ///
    /// Computed once at initialisation (construction and decoding), in the same
    /// pass over the bytes as ``id``, so ``verifySignature(publicKey:domain:verifier:)``
    /// hashes nothing but the short signed message.
    public var signingDigest: [UInt8] {
        digest.withUnsafeBytes { Array($0) }
    }

    /// Whether ``signature`` is the producer's over this chunk in `domain`.
    ///
    /// False as well when `publicKey` is not the producer's key.
    public func verifySignature(
        publicKey: [UInt8], domain: SigningDomain, verifier: some SignatureVerifier = Ed25519Verifier()
    ) -> Bool {
        guard NodeID(publicKey: publicKey) == producer else { return false }
        return digest.withUnsafeBytes { digest in
            verifier.isValid(signature: signature, message: domain.message(.chunk, digest), publicKey: publicKey)
        }
    }

    /// Writes ``encoded()`` into `buffer`, which holds exactly ``encodedSize``
    /// bytes: for a store that writes a chunk in place (LMDB's
    /// `MDB_RESERVE`) rather than encoding it to an array and copying that.
    public func encode(into buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.count == encodedSize, "buffer of \(buffer.count) bytes for a \(encodedSize)-byte chunk")
        var offset = 0
        func put(_ piece: UnsafeRawBufferPointer) {
            guard piece.count > 0 else { return }
            UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<(offset + piece.count)]).copyMemory(from: piece)
            offset += piece.count
        }
        withUnsafeBytes(of: Self.formatVersion, put)
        Self.visitUnsigned(producer: producer, beneficiary: beneficiary, slot: slot, transactions: transactions, put)
        withUnsafeBytes(of: Self.length(signature.count).bigEndian, put)
        signature.withUnsafeBytes(put)
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
        Self.visitUnsigned(producer: producer, beneficiary: beneficiary, slot: slot, transactions: transactions) {
            writer.writeRaw($0)
        }
    }

    /// Calls `body` with the body's fields but the signature, in encoding
    /// order, piece by piece; the one definition of the unsigned layout, for
    /// both writing and hashing.
    private static func visitUnsigned(
        producer: NodeID, beneficiary: NodeID, slot: UInt64, transactions: [[UInt8]],
        _ body: (UnsafeRawBufferPointer) -> Void
    ) {
        producer.withUnsafeBytes(body)
        beneficiary.withUnsafeBytes(body)
        withUnsafeBytes(of: slot.bigEndian, body)
        withUnsafeBytes(of: length(transactions.count).bigEndian, body)
        for transaction in transactions {
            withUnsafeBytes(of: length(transaction.count).bigEndian, body)
            transaction.withUnsafeBytes(body)
        }
    }

    /// A count or length as a `UInt32`; the initialisers check they fit.
    private static func length(_ count: Int) -> UInt32 {
        guard let value = UInt32(exactly: count) else {
            preconditionFailure("count \(count) does not fit in UInt32")
        }
        return value
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
