import ChunkStore
import LMDB

/// Where this process's reads of a store have got to, kept in a shared file
/// so that a parent process can read it after this one died: a tool that
/// reads an untrusted store in a child process installs it in the child and
/// reads it in the parent. A thin layer over the LMDB module's `ReadTrace`.
package enum StoreReadTrace {
    /// One recorded position.
    package struct Position: Sendable, Hashable {
        /// Reads so far (cursor moves and lookups).
        package let reads: UInt64
        /// The table last read.
        package let table: String
        /// The key last read (or, when `lookingUp`, looked for).
        package let key: [UInt8]
        /// Whether `key` was being looked up, rather than read by a cursor.
        package let lookingUp: Bool
    }

    /// The size the shared file must have.
    package static var fileSize: Int { ReadTrace.recordSize }

    /// Records every later read of this process into the file open at
    /// `fileDescriptor` (at least `fileSize` bytes).
    package static func install(fileDescriptor: Int32) throws {
        try ReadTrace.install(fileDescriptor: fileDescriptor)
    }

    /// The position recorded in the file open at `fileDescriptor`, or nil
    /// before the first read.
    package static func read(fileDescriptor: Int32) -> Position? {
        ReadTrace.read(fileDescriptor: fileDescriptor).map {
            Position(reads: $0.steps, table: $0.database, key: $0.key, lookingUp: $0.lookingUp)
        }
    }
}
