import CLMDB

/// Flags for `WriteTransaction.put`.
package struct PutFlags: OptionSet, Sendable {
    package let rawValue: UInt32
    package init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Fail with `keyExists` instead of replacing an existing value
    /// (`MDB_NOOVERWRITE`).
    package static let noOverwrite = PutFlags(rawValue: UInt32(MDB_NOOVERWRITE))
    /// The key sorts after every key in the database; appends without a
    /// search (`MDB_APPEND`). Fails with `keyExists` when it does not.
    package static let append = PutFlags(rawValue: UInt32(MDB_APPEND))
}
