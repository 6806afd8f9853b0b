/// A coding key for any name, to list every key an object has.
struct AnyCodingKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// Throws when the object being decoded has a key outside `allowed`, so a
/// misspelt setting is an error instead of a silently ignored line.
func refuseUnknownKeys(_ decoder: any Decoder, allowed: some Sequence<String>, in object: String) throws {
    let container = try decoder.container(keyedBy: AnyCodingKey.self)
    let known = Set(allowed)
    if let unknown = container.allKeys.map(\.stringValue).sorted().first(where: { !known.contains($0) }) {
        throw ConfigurationError(
            "unknown key \"\(unknown)\" in \(object); known keys: \(known.sorted().joined(separator: ", "))")
    }
}

/// A node or devnet configuration is unusable; the message names the setting.
public struct ConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What is wrong, naming the setting.
    public let message: String
    /// An error with `message`.
    public init(_ message: String) { self.message = message }
    public var description: String { "configuration: \(message)" }
}
