/// `Codable` as the JSON object form: exactly the five keys, each a `UInt64`.
///
/// Unknown and missing keys are rejected; whether duplicate keys are seen
/// depends on the decoder, so use ``Dimensions/init(json:)`` where that matters.
extension Dimensions: Codable {
    private struct Key: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        for (name, value) in zip(Self.names, values) {
            try container.encode(value, forKey: Key(stringValue: name))
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        let names = Set(Self.names)
        if let unknown = container.allKeys.first(where: { !names.contains($0.stringValue) }) {
            throw DecodingError.dataCorruptedError(
                forKey: unknown, in: container, debugDescription: "unknown Dimensions key \"\(unknown.stringValue)\"")
        }
        self.init(try Self.names.map { try container.decode(UInt64.self, forKey: Key(stringValue: $0)) })
    }
}
