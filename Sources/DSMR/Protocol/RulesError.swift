/// A ``Rules`` value is not internally consistent.
public struct RulesError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The offending rule, for example `chunkLifetime`.
    public let rule: String
    /// What is wrong with it.
    public let message: String

    /// Creates an error about `rule`.
    public init(rule: String, message: String) {
        self.rule = rule
        self.message = message
    }

    public var description: String { "rules.\(rule): \(message)" }
}
