import LMDB
import SystemC

/// Finds other processes that have an environment open, through the lock
/// LMDB itself takes: every process with the environment open (read-only
/// ones included, reading or idle) holds a shared `fcntl` lock on the first
/// byte of `lock.mdb` until it closes it. Asking (`F_GETLK`) whether an
/// exclusive lock could be taken there names one holder without taking
/// anything, and ignores this process's own locks.
///
/// POSIX locks belong to the process and are dropped when *any* descriptor
/// of the file is closed, so the probe's descriptor must outlive every
/// handle of the environment this process opens while it exists: close it
/// (``close()``) only after them.
package final class LockFileProbe: @unchecked Sendable {
    // Sendable: the descriptor is written at init and by `close` only; the
    // probe is used by one caller at a time.
    private var descriptor: Int32
    /// The lock file probed.
    package let path: String

    /// Opens `directory/lock.mdb` (never through a symbolic link). A missing
    /// lock file means no process has the environment open; the probe then
    /// reports none until it is made again with a new probe.
    ///
    /// Throws `LMDBError` with an `errno` code when it cannot be opened.
    package init(directory: String) throws(LMDBError) {
        path = directory + "/lock.mdb"
        descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        if descriptor < 0 && errno != ENOENT {
            let code = errno
            throw LMDBError(
                LMDBError.Code(rawValue: code), operation: "open", path: path,
                message: "cannot open \(path) to see who has the environment open: \(String(cString: strerror(code)))")
        }
    }

    /// The process id of another process that has the environment open, or
    /// nil when none has.
    ///
    /// The corresponding C call is `fcntl(F_GETLK)`.
    package func otherProcess() throws(LMDBError) -> Int32? {
        guard descriptor >= 0 else { return nil }
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = 0
        lock.l_len = 1
        guard fcntl(descriptor, F_GETLK, &lock) == 0 else {
            let code = errno
            throw LMDBError(
                LMDBError.Code(rawValue: code), operation: "fcntl(F_GETLK)", path: path,
                message: "cannot query the locks on \(path): \(String(cString: strerror(code)))")
        }
        return lock.l_type == Int16(F_UNLCK) ? nil : lock.l_pid
    }

    /// Closes the descriptor: only once every handle of the environment this
    /// process opened is closed.
    package func close() {
        guard descriptor >= 0 else { return }
        _ = SystemC.close(descriptor)
        descriptor = -1
    }

    deinit { close() }
}
