import CLMDB

/// A named database inside an environment: a cheap value holding the handle.
///
/// Handles are opened once, when the environment opens, and stay valid until
/// it closes. Get one with `Environment.database(_:)`.
package struct Database: Sendable, Hashable, CustomStringConvertible {
    /// The database's name.
    package let name: String
    let handle: MDB_dbi

    package var description: String { name }
}
