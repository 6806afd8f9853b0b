import DSMR

extension SnapshotManifest: CanonicalValue {
    public static let formatVersion: UInt8 = 1
    public static let codecName: StaticString = "snapshotManifest"

    /// `height (u64) || root (32) || piece count (u32) || format (u16 as u32)`.
    public func encode(to writer: inout CanonicalWriter) {
        writer.write(height)
        writer.write(root)
        writer.write(pieceCount)
        writer.write(UInt32(format))
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        let height = try reader.readUInt64("height")
        let root = try reader.read(StateRoot.self, "root")
        let pieceCount = try reader.readUInt32("pieceCount")
        guard pieceCount >= 1 else {
            throw reader.error(.nonCanonical, "pieceCount", "a snapshot has at least one piece")
        }
        let format = try reader.readUInt32("format")
        guard format <= UInt32(UInt16.max) else {
            throw reader.error(.nonCanonical, "format", "format \(format) is wider than 16 bits")
        }
        self.init(height: height, root: root, pieceCount: pieceCount, format: UInt16(format))
    }
}

extension SnapshotPiece: CanonicalValue {
    public static let formatVersion: UInt8 = 1
    public static let codecName: StaticString = "snapshotPiece"
    /// The most bytes a piece's payload may have: a state machine cuts its
    /// state into pieces no larger.
    public static let maxPayloadBytes = 1 << 20

    /// `index (u32) || length (u32) || payload || length (u32) || proof`.
    public func encode(to writer: inout CanonicalWriter) {
        writer.write(index)
        writer.writeLengthPrefixed(payload)
        writer.writeLengthPrefixed(proof)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        let index = try reader.readUInt32("index")
        let payload = try reader.readLengthPrefixed("payload", limit: Self.maxPayloadBytes)
        let proof = try reader.readLengthPrefixed("proof", limit: SnapshotTree.maxProofBytes)
        self.init(index: index, payload: payload, proof: proof)
    }
}
