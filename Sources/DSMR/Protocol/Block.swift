/// A block: a parent, a height, a timestamp and the chunk certificates it orders.
///
/// Two blocks are equal when their ids are equal; the id is the SHA-256 of the
/// canonical encoding, computed once at initialisation.
public struct Block: Hashable, Sendable {
    /// The id of the parent block.
    public let parent: BlockID
    /// The parent's height plus one.
    public let height: UInt64
    /// Milliseconds.
    public let timestamp: Int64
    /// The certificates the block orders, in order.
    public let certificates: [ChunkCertificate]
    /// The SHA-256 of ``encoded()``.
    public private(set) var id: BlockID

    /// Creates a block and computes its id.
    public init(parent: BlockID, height: UInt64, timestamp: Int64, certificates: [ChunkCertificate]) {
        precondition(certificates.count <= Int(UInt32.max), "too many certificates")
        self.parent = parent
        self.height = height
        self.timestamp = timestamp
        self.certificates = certificates
        self.id = .zero
        self.id = BlockID(hashing: encoded())
    }

    public static func == (a: Block, b: Block) -> Bool { a.id == b.id }
    public func hash(into hasher: inout Hasher) { hasher.combine(id) }
}

extension Block: CanonicalValue {
    public static let formatVersion: UInt8 = 1
    public static let codecName: StaticString = "block"
    public static func maxEncodedBytes(limits: DecodingLimits) -> Int { limits.maxBlockBytes }

    /// `parent (32) || height (u64) || timestamp (i64) || count (u32) ||
    /// count × certificate body`.
    public func encode(to writer: inout CanonicalWriter) {
        writer.write(parent)
        writer.write(height)
        writer.write(timestamp)
        writer.writeCount(certificates.count)
        for certificate in certificates { certificate.encode(to: &writer) }
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        let parent = try reader.read(BlockID.self, "parent")
        let height = try reader.readUInt64("height")
        let timestamp = try reader.readInt64("timestamp")
        // A certificate body is at least a reference, an epoch, a length and one signer byte.
        let minimumCertificate = ChunkReference.bodyByteCount + 8 + 4 + 1 + 4
        let count = try reader.readCount(
            "certificates", limit: reader.limits.maxCertificatesPerBlock, minimumElementSize: minimumCertificate)
        var certificates: [ChunkCertificate] = []
        certificates.reserveCapacity(count)
        try reader.nested("certificates") { (reader) throws(CodecError) in
            for index in 0..<count {
                certificates.append(
                    try reader.element(index) { (reader) throws(CodecError) in try ChunkCertificate(from: &reader) })
            }
        }
        self.init(parent: parent, height: height, timestamp: timestamp, certificates: certificates)
    }
}
