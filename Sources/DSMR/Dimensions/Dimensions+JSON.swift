extension Dimensions {
    /// The JSON object form, compact and in canonical key order:
    /// `{"bandwidth":1,"compute":2,"storageRead":3,"storageAllocate":4,"storageWrite":5}`.
    public var json: String {
        "{" + zip(Self.names, values).map { "\"\($0)\":\($1)" }.joined(separator: ",") + "}"
    }

    /// Parses the JSON object form strictly.
    ///
    /// Keys may come in any order with JSON whitespace between tokens, but the
    /// object must have exactly the five keys, each once, spelled without
    /// escapes, and every value must be a plain non-negative integer (no sign,
    /// fraction, exponent or leading zero) that fits in `UInt64`.
    ///
    /// - Throws: ``DimensionsError/Code/malformed`` naming what is wrong and where.
    public init(json: some StringProtocol) throws(DimensionsError) {
        var parser = DimensionsJSONParser(Array(json.utf8))
        self = try parser.parse()
    }
}

/// A strict parser for exactly one ``Dimensions`` JSON object.
private struct DimensionsJSONParser {
    private let input: [UInt8]
    private var position = 0

    init(_ input: [UInt8]) {
        self.input = input
    }

    mutating func parse() throws(DimensionsError) -> Dimensions {
        var values: [UInt64?] = Array(repeating: nil, count: Dimensions.names.count)
        try expect(UInt8(ascii: "{"))
        skipWhitespace()
        if peek() == UInt8(ascii: "}") { throw failure("empty object") }
        while true {
            skipWhitespace()
            let key = try parseKey()
            guard let index = Dimensions.names.firstIndex(of: key) else { throw failure("unknown key \"\(key)\"") }
            guard values[index] == nil else { throw failure("duplicate key \"\(key)\"") }
            try expect(UInt8(ascii: ":"))
            skipWhitespace()
            values[index] = try parseInteger(key)
            skipWhitespace()
            guard let next = next() else { throw failure("unterminated object") }
            if next == UInt8(ascii: "}") { break }
            guard next == UInt8(ascii: ",") else { throw failure("expected ',' or '}'", at: position - 1) }
        }
        skipWhitespace()
        guard position == input.count else { throw failure("trailing characters after the object") }
        for (name, value) in zip(Dimensions.names, values) where value == nil {
            throw failure("missing key \"\(name)\"")
        }
        return Dimensions(values.map { $0! })
    }

    private mutating func parseKey() throws(DimensionsError) -> String {
        try expect(UInt8(ascii: "\""))
        let start = position
        while let byte = peek(), byte != UInt8(ascii: "\"") {
            guard byte >= 0x20, byte < 0x7f, byte != UInt8(ascii: "\\") else {
                throw failure("keys must be plain ASCII without escapes")
            }
            position += 1
        }
        let key = String(decoding: input[start..<position], as: UTF8.self)
        try expect(UInt8(ascii: "\""))
        skipWhitespace()
        return key
    }

    private mutating func parseInteger(_ key: String) throws(DimensionsError) -> UInt64 {
        let start = position
        var value: UInt64 = 0
        while let byte = peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            if o1 || o2 { throw failure("\(key) does not fit in UInt64") }
            value = sum
            position += 1
        }
        let digits = position - start
        guard digits > 0 else { throw failure("\(key) must be a non-negative integer", at: start) }
        guard digits == 1 || input[start] != UInt8(ascii: "0") else {
            throw failure("\(key) has a leading zero", at: start)
        }
        if let byte = peek(), byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
            throw failure("\(key) must be an integer without fraction or exponent")
        }
        return value
    }

    private mutating func expect(_ byte: UInt8) throws(DimensionsError) {
        skipWhitespace()
        guard peek() == byte else {
            throw failure("expected '\(Character(Unicode.Scalar(byte)))'")
        }
        position += 1
    }

    private mutating func skipWhitespace() {
        while let byte = peek(), byte == 0x20 || byte == 0x09 || byte == 0x0a || byte == 0x0d { position += 1 }
    }

    private func peek() -> UInt8? { position < input.count ? input[position] : nil }

    private mutating func next() -> UInt8? {
        defer { position += 1 }
        return peek()
    }

    private func failure(_ message: String, at offset: Int? = nil) -> DimensionsError {
        DimensionsError(code: .malformed, message: "JSON: \(message) at offset \(offset ?? position)")
    }
}
