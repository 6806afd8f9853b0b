/// A value with one canonical binary form.
///
/// Conforming types write and read their body; the top-level form adds a
/// leading format version byte and forbids trailing bytes. Nested values are
/// written as bodies, without a version byte.
public protocol CanonicalValue: Sendable {
    /// The version byte that starts the top-level encoding.
    static var formatVersion: UInt8 { get }
    /// The name of the value in error paths, for example `chunk`.
    static var codecName: StaticString { get }
    /// The largest top-level encoding accepted under `limits`, checked before decoding.
    static func maxEncodedBytes(limits: DecodingLimits) -> Int

    /// Writes the body (everything after the version byte).
    func encode(to writer: inout CanonicalWriter)
    /// Reads the body (everything after the version byte).
    init(from reader: inout CanonicalReader) throws(CodecError)
}

extension CanonicalValue {
    public static func maxEncodedBytes(limits: DecodingLimits) -> Int { Int.max }

    /// The canonical top-level encoding: the version byte, then the body.
    public func encoded() -> [UInt8] {
        var writer = CanonicalWriter()
        writer.write(Self.formatVersion)
        encode(to: &writer)
        return writer.bytes
    }

    /// Decodes the canonical top-level encoding strictly.
    ///
    /// - Throws: ``CodecError`` naming the field at fault, for input that is
    ///   too large, truncated, over a limit, non-canonical, of another
    ///   version, or followed by trailing bytes.
    public init(decoding bytes: [UInt8], limits: DecodingLimits = .default) throws(CodecError) {
        var reader = CanonicalReader(bytes, root: Self.codecName, limits: limits)
        let maximum = Self.maxEncodedBytes(limits: limits)
        if bytes.count > maximum {
            throw reader.error(.limitExceeded, nil, "input of \(bytes.count) bytes exceeds limit \(maximum)")
        }
        let version = try reader.readUInt8("version")
        if version != Self.formatVersion {
            throw reader.error(
                .unsupportedVersion, "version", "version \(version) is not supported (expected \(Self.formatVersion))")
        }
        self = try Self(from: &reader)
        try reader.finish()
    }

    /// Decodes the canonical top-level encoding strictly from any byte collection.
    public init(decoding bytes: some Collection<UInt8>, limits: DecodingLimits = .default) throws(CodecError) {
        try self.init(decoding: Array(bytes), limits: limits)
    }
}
