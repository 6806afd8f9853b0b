/// Reads the canonical binary form strictly.
///
/// Every read checks the remaining input first; lengths and counts are also
/// checked against the caller's limit before anything is allocated. Errors
/// carry the path of the field being read, built only when an error is thrown.
public struct CanonicalReader: Sendable {
    private enum PathComponent: Sendable {
        case field(StaticString)
        case index(Int)
    }

    private let input: [UInt8]
    private var offset: Int
    private var path: [PathComponent]
    /// The limits this reader's values enforce.
    public let limits: DecodingLimits

    /// A reader over `input`; `root` names the top-level value in errors.
    public init(_ input: [UInt8], root: StaticString, limits: DecodingLimits = .default) {
        self.input = input
        self.offset = 0
        self.path = [.field(root)]
        self.limits = limits
    }

    /// The number of bytes not yet read.
    public var remaining: Int { input.count - offset }

    /// Reads one byte.
    public mutating func readUInt8(_ field: StaticString) throws(CodecError) -> UInt8 {
        try need(1, field)
        defer { offset += 1 }
        return input[offset]
    }

    /// Reads a big-endian `UInt32`.
    public mutating func readUInt32(_ field: StaticString) throws(CodecError) -> UInt32 {
        try need(4, field)
        defer { offset += 4 }
        return input.withUnsafeBytes { UInt32(bigEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
    }

    /// Reads a big-endian `UInt64`.
    public mutating func readUInt64(_ field: StaticString) throws(CodecError) -> UInt64 {
        try need(8, field)
        defer { offset += 8 }
        return input.withUnsafeBytes { UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
    }

    /// Reads a big-endian two's-complement `Int64`.
    public mutating func readInt64(_ field: StaticString) throws(CodecError) -> Int64 {
        Int64(bitPattern: try readUInt64(field))
    }

    /// Reads an identifier of fixed size.
    public mutating func read<ID: Identifier>(_ type: ID.Type, _ field: StaticString) throws(CodecError) -> ID {
        try need(ID.byteCount, field)
        defer { offset += ID.byteCount }
        do {
            return try ID(bytes: input[offset..<offset + ID.byteCount])
        } catch {
            preconditionFailure("identifier length checked above")
        }
    }

    /// Reads `count` bytes with no length prefix.
    public mutating func readRaw(_ count: Int, _ field: StaticString) throws(CodecError) -> [UInt8] {
        try need(count, field)
        defer { offset += count }
        return Array(input[offset..<offset + count])
    }

    /// Reads a `UInt32` length and that many bytes, refusing lengths above
    /// `limit` or above what remains before copying.
    public mutating func readLengthPrefixed(_ field: StaticString?, limit: Int) throws(CodecError) -> [UInt8] {
        let length = try readLength(field, limit: limit, minimumElementSize: 1, what: "length")
        defer { offset += length }
        return Array(input[offset..<offset + length])
    }

    /// Reads a `UInt32` element count, refusing counts above `limit` or counts
    /// whose elements of at least `minimumElementSize` bytes cannot fit in
    /// what remains.
    public mutating func readCount(
        _ field: StaticString?, limit: Int, minimumElementSize: Int
    ) throws(CodecError) -> Int {
        try readLength(field, limit: limit, minimumElementSize: minimumElementSize, what: "count")
    }

    private mutating func readLength(
        _ field: StaticString?, limit: Int, minimumElementSize: Int, what: String
    ) throws(CodecError) -> Int {
        try need(4, field, what: "\(what) prefix")
        let declared = input.withUnsafeBytes {
            Int(UInt32(bigEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        }
        offset += 4
        let (needed, overflow) = declared.multipliedReportingOverflow(by: minimumElementSize)
        if overflow || needed > remaining {
            throw error(
                .lengthExceedsRemaining, field, "declared \(what) \(declared) exceeds remaining \(remaining) bytes")
        }
        if declared > limit {
            throw error(.limitExceeded, field, "declared \(what) \(declared) exceeds limit \(limit)")
        }
        return declared
    }

    /// Reads a nested value, naming it `field` in errors.
    public mutating func nested<T>(
        _ field: StaticString, _ body: (inout CanonicalReader) throws(CodecError) -> T
    ) throws(CodecError) -> T {
        path.append(.field(field))
        defer { path.removeLast() }
        return try body(&self)
    }

    /// Reads element `index` of the current list, naming it `[index]` in errors.
    public mutating func element<T>(
        _ index: Int, _ body: (inout CanonicalReader) throws(CodecError) -> T
    ) throws(CodecError) -> T {
        path.append(.index(index))
        defer { path.removeLast() }
        return try body(&self)
    }

    /// Throws unless every byte has been read.
    public func finish() throws(CodecError) {
        if remaining != 0 {
            throw error(.trailingBytes, nil, "\(remaining) trailing bytes after the value")
        }
    }

    /// An error about `field` (or the current path when nil) with the current path.
    public func error(_ code: CodecError.Code, _ field: StaticString?, _ message: String) -> CodecError {
        var text = ""
        for component in path {
            switch component {
            case .field(let name):
                if !text.isEmpty { text += "." }
                text += name.description
            case .index(let index):
                text += "[\(index)]"
            }
        }
        if let field { text += (text.isEmpty ? "" : ".") + field.description }
        return CodecError(code: code, field: text, message: message)
    }

    private func need(_ count: Int, _ field: StaticString?, what: String = "") throws(CodecError) {
        if count > remaining {
            let subject = what.isEmpty ? "" : " for its \(what)"
            throw error(.truncated, field, "needs \(count) bytes\(subject), only \(remaining) remain")
        }
    }
}
