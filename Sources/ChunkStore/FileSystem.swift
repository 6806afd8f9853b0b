#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The few file operations the store needs beyond LMDB.
enum FileSystem {
    /// Creates `path` (mode 0700) unless it exists.
    static func makeDirectory(_ path: String) throws {
        if mkdir(path, 0o700) == 0 || errno == EEXIST { return }
        throw ChunkStoreError(.io, "cannot create the directory \(path): \(String(cString: strerror(errno)))")
    }

    /// Whether a file or directory exists at `path`.
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }
}
