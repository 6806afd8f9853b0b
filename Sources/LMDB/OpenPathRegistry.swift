import SystemC
import Synchronization

/// The environment directories open in this process, by device and inode.
///
/// LMDB's POSIX locks are per process: opening one environment twice in a
/// process and closing one of the handles drops the locks of the other. The
/// registry refuses the second open instead. Identity is the directory's
/// (device, inode), so a symlink or a relative path cannot sneak past it.
enum OpenPathRegistry {
    struct Identity: Hashable, Sendable {
        let device: UInt64
        let inode: UInt64
    }

    private static let open = Mutex<Set<Identity>>([])

    /// Looks up the identity of the directory at `path`.
    static func identity(of path: String) throws(LMDBError) -> Identity {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let code = errno
            let reason =
                code == ENOENT
                ? "the directory does not exist; create it first"
                : String(cString: strerror(code))
            throw LMDBError(
                LMDBError.Code(rawValue: code), operation: "open", path: path, message: reason)
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            throw LMDBError(
                .notADirectory, operation: "open", path: path,
                message: "not a directory: an environment is a directory holding data.mdb")
        }
        return Identity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    /// Claims `identity`; throws `alreadyOpen` when it is held.
    static func claim(_ identity: Identity, path: String) throws(LMDBError) {
        let inserted = open.withLock { $0.insert(identity).inserted }
        if !inserted {
            throw LMDBError(
                .alreadyOpen, operation: "open", path: path,
                message: "the environment is already open in this process; share that handle")
        }
    }

    /// Releases `identity`.
    static func release(_ identity: Identity) {
        _ = open.withLock { $0.remove(identity) }
    }
}
