import ChunkStore
import Foundation

/// Reads a small input file whole, never more than a limit.
enum BoundedFileRead {
    /// The bytes of the regular file at `path`, refusing one larger than
    /// `limit` bytes (by its size, and by what a read returns, in case it
    /// grows). Opened with `O_NONBLOCK`, so a FIFO cannot hang the read.
    static func contents(of path: String, limit: Int, what: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw FileSystem.ioError("cannot open \(what)", path) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FileSystem.ioError("cannot stat \(what)", path) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw ChunkStoreError(.badInterchange, "\(path): \(what) is not a regular file")
        }
        guard info.st_size <= limit else {
            throw ChunkStoreError(
                .badInterchange, "\(path): \(what) has \(info.st_size) bytes, above the limit of \(limit)")
        }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size) + 1)
        var count = 0
        while count < bytes.count {
            let result = bytes.withUnsafeMutableBytes { buffer in
                Platform.read(fd, buffer.baseAddress! + count, buffer.count - count)
            }
            if result < 0 && errno == EINTR { continue }
            guard result >= 0 else { throw FileSystem.ioError("cannot read \(what)", path) }
            if result == 0 { break }
            count += result
            if count > limit {
                throw ChunkStoreError(.badInterchange, "\(path): \(what) grew above the limit of \(limit) bytes")
            }
            if count == bytes.count { bytes += [UInt8](repeating: 0, count: min(limit + 1, bytes.count * 2) - count) }
        }
        return Array(bytes[0..<count])
    }
}
