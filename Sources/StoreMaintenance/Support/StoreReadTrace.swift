import ChunkStore
import LMDB

/// Where this process's reads of a store have got to, kept in a shared file
/// so that a parent process can read it after this one died: a tool that
/// reads an untrusted store in a child process installs it in the child and
/// reads it in the parent. A thin layer over the LMDB module's `ReadTrace`.
public enum StoreReadTrace {
    /// One recorded position.
    public struct Position: Sendable, Hashable {
        /// Reads so far (cursor moves and lookups).
        public let reads: UInt64
        /// The table last read.
        public let table: String
        /// The key last read (or, when `lookingUp`, looked for).
        public let key: [UInt8]
        /// Whether `key` was being looked up, rather than read by a cursor.
        public let lookingUp: Bool
    }

    /// The size the shared file must have.
    public static var fileSize: Int { ReadTrace.recordSize }

    /// Records every later read of this process into the file open at
    /// `fileDescriptor` (at least `fileSize` bytes).
    public static func install(fileDescriptor: Int32) throws {
        try ReadTrace.install(fileDescriptor: fileDescriptor)
    }

    /// The position recorded in the file open at `fileDescriptor`, or nil
    /// before the first read.
    public static func read(fileDescriptor: Int32) -> Position? {
        ReadTrace.read(fileDescriptor: fileDescriptor).map {
            Position(reads: $0.steps, table: $0.database, key: $0.key, lookingUp: $0.lookingUp)
        }
    }
}
