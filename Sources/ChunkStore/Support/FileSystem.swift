import Foundation

/// The few file operations the store needs beyond LMDB.
package enum FileSystem {
    /// Creates `path` (mode 0700) unless it exists; returns whether it did.
    @discardableResult
    package static func makeDirectory(_ path: String) throws -> Bool {
        if mkdir(path, 0o700) == 0 { return true }
        if errno == EEXIST { return false }
        throw ChunkStoreError(.io, "cannot create the directory \(path): \(Platform.lastError)")
    }

    /// Flushes a file's data to disk.
    package static func syncFile(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw ChunkStoreError(.io, "cannot open \(path): \(Platform.lastError)")
        }
        defer { close(fd) }
        guard fsync(fd) == 0 else {
            throw ChunkStoreError(.io, "cannot sync \(path): \(Platform.lastError)")
        }
    }

    /// Flushes a directory's entries, so files just created or renamed in it
    /// survive a power loss.
    package static func syncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else {
            throw ChunkStoreError(.io, "cannot open the directory \(path): \(Platform.lastError)")
        }
        defer { close(fd) }
        guard fsync(fd) == 0 else {
            throw ChunkStoreError(.io, "cannot sync the directory \(path): \(Platform.lastError)")
        }
    }

    /// The directory holding `path`.
    package static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// The size in bytes of the file at `path`.
    package static func size(_ path: String) throws -> Int {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw ChunkStoreError(.io, "cannot stat \(path): \(String(cString: strerror(errno)))")
        }
        return Int(info.st_size)
    }

    /// Whether a file or directory exists at `path`.
    package static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// An I/O error: what failed, on which path, and the system's reason.
    package static func ioError(_ what: String, _ path: String) -> ChunkStoreError {
        ChunkStoreError(.io, "\(what) \(path): \(Platform.lastError)")
    }
}
