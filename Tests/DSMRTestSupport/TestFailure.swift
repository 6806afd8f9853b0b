/// A test's failure to reach a state, find a tool or set up its files,
/// described in words.
public struct TestFailure: Error, CustomStringConvertible {
    /// What went wrong.
    public let description: String

    /// A failure described by `description`.
    public init(_ description: String) { self.description = description }
}
