extension Dimensions {
    /// The size of ``fixedBytes``.
    public static let fixedByteCount = 40

    /// The five dimensions as big-endian `UInt64`s in canonical order: 40 bytes.
    public var fixedBytes: [UInt8] {
        var writer = CanonicalWriter()
        encode(to: &writer)
        return writer.bytes
    }

    /// Parses the 40-byte form.
    ///
    /// - Throws: ``DimensionsError/Code/malformed`` unless there are exactly 40 bytes.
    public init(fixedBytes: some Collection<UInt8>) throws(DimensionsError) {
        guard fixedBytes.count == Self.fixedByteCount else {
            throw DimensionsError(
                code: .malformed, message: "expected \(Self.fixedByteCount) bytes, got \(fixedBytes.count)")
        }
        var reader = CanonicalReader(Array(fixedBytes), root: "dimensions")
        do {
            self = try Dimensions(from: &reader)
        } catch {
            throw DimensionsError(code: .malformed, message: error.description)
        }
    }

    /// Writes the 40-byte form.
    public func encode(to writer: inout CanonicalWriter) {
        for value in values { writer.write(value) }
    }

    /// Reads the 40-byte form.
    public init(from reader: inout CanonicalReader) throws(CodecError) {
        self.init(
            bandwidth: try reader.readUInt64("bandwidth"),
            compute: try reader.readUInt64("compute"),
            storageRead: try reader.readUInt64("storageRead"),
            storageAllocate: try reader.readUInt64("storageAllocate"),
            storageWrite: try reader.readUInt64("storageWrite"))
    }
}
