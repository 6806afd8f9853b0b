import ChunkStore
import SystemC

/// Names the cause of a failed write to a store or state directory. LMDB
/// reports a short write as an I/O error (EIO), so a full disk is found
/// from the file system's free space (`statvfs`), not from the error.
enum StorageDiagnosis {
    /// Below this many free bytes a failed write is put down to a full disk.
    static let lowSpaceBytes: UInt64 = 16 << 20

    /// Free and total bytes of the file system holding `path`, or nil when it cannot be read.
    static func space(at path: String) -> (free: UInt64, total: UInt64)? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        let unit = UInt64(info.f_frsize)
        return (UInt64(info.f_bavail) * unit, UInt64(info.f_blocks) * unit)
    }

    /// Whether `error` means the store refuses writes until it is reopened
    /// (its state on disk is unknown): an I/O error or an earlier write failure.
    static func storeFailed(_ error: any Error) -> Bool {
        guard let error = error as? ChunkStoreError else { return false }
        return error.code == .io || error.code == .writerFailed
    }

    /// `error` explained: "no space left on the file system of PATH (N of M
    /// bytes free)" when that file system is nearly full, else the error.
    static func explain(_ error: any Error, path: String) -> String {
        if let space = space(at: path), space.free < lowSpaceBytes {
            return "no space left on the file system of \(path) (\(space.free) of \(space.total) bytes free): \(error)"
        }
        return "\(error)"
    }
}
