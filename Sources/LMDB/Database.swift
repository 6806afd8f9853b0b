import CLMDB

/// A named database inside an environment: a cheap value holding the handle.
///
/// Handles are opened once, when the environment opens, and stay valid until
/// it closes. Get one with `Environment.database(_:)`.
public struct Database: Sendable, Hashable, CustomStringConvertible {
    /// The database's name.
    public let name: String
    let handle: MDB_dbi

    public var description: String { name }
}
