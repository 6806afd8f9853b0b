import CLMDB

/// The one error type of the LMDB module.
///
/// It carries the LMDB (or `errno`) result code, LMDB's own message for it,
/// the operation that failed and, where one was involved, the database and the
/// environment path. Callers match on codes:
///
/// ```swift
/// do { try txn.put(value, forKey: key, in: db, flags: .noOverwrite) }
/// catch LMDBError.Code.keyExists { ... }
/// ```
package struct LMDBError: Error, Sendable, CustomStringConvertible {
    /// A result code: one of LMDB's `MDB_*` codes, an `errno` value, or one of
    /// the wrapper's own codes (all below LMDB's range).
    package struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        package let rawValue: Int32
        package init(rawValue: Int32) { self.rawValue = rawValue }

        /// `MDB_KEYEXIST`: the key is already present (no-overwrite put).
        package static let keyExists = Code(rawValue: MDB_KEYEXIST)
        /// `MDB_NOTFOUND`: no such key, or a cursor ran off the end.
        package static let notFound = Code(rawValue: MDB_NOTFOUND)
        /// `MDB_PAGE_NOTFOUND`: a page was not found; usually corruption.
        package static let pageNotFound = Code(rawValue: MDB_PAGE_NOTFOUND)
        /// `MDB_CORRUPTED`: a page has the wrong type; the file is damaged.
        package static let corrupted = Code(rawValue: MDB_CORRUPTED)
        /// `MDB_CURSOR_FULL`: a cursor went deeper than LMDB's stack allows;
        /// in a read, a damaged tree.
        package static let cursorFull = Code(rawValue: MDB_CURSOR_FULL)
        /// `MDB_PANIC`: a fatal error; the environment must be closed.
        package static let panic = Code(rawValue: MDB_PANIC)
        /// `MDB_VERSION_MISMATCH`: the file was written by another LMDB version.
        package static let versionMismatch = Code(rawValue: MDB_VERSION_MISMATCH)
        /// `MDB_INVALID`: the file is not an LMDB environment.
        package static let invalid = Code(rawValue: MDB_INVALID)
        /// `MDB_MAP_FULL`: the map reached its configured ceiling.
        package static let mapFull = Code(rawValue: MDB_MAP_FULL)
        /// `MDB_DBS_FULL`: more named databases than `maxDatabases`.
        package static let databasesFull = Code(rawValue: MDB_DBS_FULL)
        /// `MDB_READERS_FULL`: every reader slot is taken.
        package static let readersFull = Code(rawValue: MDB_READERS_FULL)
        /// `MDB_TXN_FULL`: the transaction has too many dirty pages.
        package static let transactionFull = Code(rawValue: MDB_TXN_FULL)
        /// `MDB_MAP_RESIZED`: another process grew the map.
        package static let mapResized = Code(rawValue: MDB_MAP_RESIZED)
        /// `MDB_INCOMPATIBLE`: the database was opened with incompatible flags.
        package static let incompatible = Code(rawValue: MDB_INCOMPATIBLE)
        /// `MDB_BAD_TXN`: the transaction is unusable after an earlier error.
        package static let badTransaction = Code(rawValue: MDB_BAD_TXN)
        /// `MDB_BAD_VALSIZE`: a key is empty or longer than the maximum, or a
        /// value is too large.
        package static let badValueSize = Code(rawValue: MDB_BAD_VALSIZE)
        /// `MDB_BAD_DBI`: the database handle is stale.
        package static let badDatabase = Code(rawValue: MDB_BAD_DBI)
        /// `ENOENT`: the environment directory does not exist.
        package static let noSuchFile = Code(rawValue: 2)
        /// `EACCES`: permission denied.
        package static let permissionDenied = Code(rawValue: 13)
        /// `EIO`: an I/O error.
        package static let ioError = Code(rawValue: 5)
        /// `ENOSPC`: the disk is full.
        package static let noSpace = Code(rawValue: 28)
        /// `ENOTDIR`: the environment path is not a directory.
        package static let notADirectory = Code(rawValue: 20)

        /// The path is already open in this process; LMDB's locks would break
        /// if it were opened twice.
        package static let alreadyOpen = Code(rawValue: -40_001)
        /// The environment has been closed.
        package static let closed = Code(rawValue: -40_002)
        /// A named database asked for was not declared when the environment
        /// was opened, or does not exist in a read-only environment.
        package static let unknownDatabase = Code(rawValue: -40_003)
        /// A write was asked of a read-only environment.
        package static let readOnly = Code(rawValue: -40_004)
        /// An option is out of range.
        package static let invalidOption = Code(rawValue: -40_005)
        /// The map was full and could not grow because a read transaction of
        /// this process stayed open longer than `maxGrowthWait`; the write
        /// was not applied and may be retried once the read ends.
        package static let growthTimedOut = Code(rawValue: -40_006)
        /// An earlier write, commit or sync failed in a way that leaves the
        /// environment's state unknown (an I/O error, a full disk, a panic);
        /// writes are refused until the environment is closed and reopened.
        package static let writerFailed = Code(rawValue: -40_007)

        package var description: String {
            switch self {
            case .alreadyOpen: return "already open in this process"
            case .closed: return "environment closed"
            case .unknownDatabase: return "unknown database"
            case .readOnly: return "environment is read-only"
            case .invalidOption: return "invalid option"
            case .growthTimedOut: return "map growth waited too long for open read transactions"
            case .writerFailed: return "writes refused after an earlier write failure"
            default: return String(cString: mdb_strerror(rawValue))
            }
        }

        /// Whether a write that failed with this code leaves LMDB's state
        /// unknown, so the writer must fail closed: an I/O error, a full
        /// disk, a panic, a damaged or missing page.
        var leavesStateUnknown: Bool {
            switch self {
            case .ioError, .noSpace, .panic, .corrupted, .pageNotFound: return true
            default: return false
            }
        }

        /// Matches an error against a code, so `catch LMDBError.Code.notFound`
        /// works.
        package static func ~= (code: Code, error: any Error) -> Bool {
            (error as? LMDBError)?.code == code
        }
    }

    /// The result code.
    package let code: Code
    /// What the code means, in LMDB's or the wrapper's words.
    package let message: String
    /// The operation that failed, named after the C function where there is
    /// one (`mdb_put`, `mdb_env_open`, ...).
    package let operation: String
    /// The named database involved, if any.
    package let database: String?
    /// The environment's path, if known.
    package let path: String?

    /// Creates an error; `message` defaults to the code's description.
    package init(
        _ code: Code, operation: String, database: String? = nil, path: String? = nil,
        message: String? = nil
    ) {
        self.code = code
        self.message = message ?? code.description
        self.operation = operation
        self.database = database
        self.path = path
    }

    package var description: String {
        var text = "\(operation) failed"
        if let database { text += " on database '\(database)'" }
        if let path { text += " in \(path)" }
        return text + ": \(message) (\(code.rawValue))"
    }

}

/// Turns a C result into a thrown `LMDBError`.
@inline(__always)
func check(
    _ rc: Int32, _ operation: @autoclosure () -> String, database: @autoclosure () -> String? = nil,
    path: @autoclosure () -> String? = nil
) throws(LMDBError) {
    if rc != MDB_SUCCESS {
        throw LMDBError(
            LMDBError.Code(rawValue: rc), operation: operation(), database: database(),
            path: path())
    }
}
