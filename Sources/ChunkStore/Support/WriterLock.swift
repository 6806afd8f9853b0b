import Foundation

/// The exclusive lock a writing process holds on `<store>/writer.lock`.
///
/// Taken with `flock(LOCK_EX | LOCK_NB)`; the file holds the holder's pid and
/// host so a refused process can say who holds it. The kernel drops the lock
/// when the holder dies, so a crash never leaves the store locked. The file
/// is opened with `O_NOFOLLOW`: a symbolic link (or anything but a regular
/// file) in its place is refused as `damaged`, never written through.
package final class WriterLock: @unchecked Sendable {
    // Sendable: the descriptor is written once at init and closed once, in
    // `release`, which the store calls from `close` only.
    private var descriptor: Int32

    package static func path(in directory: String) -> String { directory + "/writer.lock" }

    package init(directory: String) throws {
        let path = Self.path(in: directory)
        // Never through a link: taking the lock truncates and writes the file.
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0o600)
        guard fd >= 0 else {
            if errno == ELOOP {
                throw ChunkStoreError(
                    .damaged,
                    "\(path) is a symbolic link; the writer lock is never taken through one (its target would be overwritten), so the store at \(directory) was not opened. Remove the link"
                )
            }
            throw ChunkStoreError(.io, "cannot open \(path): \(Platform.lastError)")
        }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw ChunkStoreError(
                .damaged, "\(path) is not a regular file, so the store at \(directory) was not opened")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = Self.readHolder(fd)
            close(fd)
            throw ChunkStoreError(
                .locked,
                "the store at \(directory) is held by another writer (\(holder)); stop it first, or use a read-only command"
            )
        }
        _ = ftruncate(fd, 0)
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count - 1)
        let host = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let text = "pid \(getpid()) on \(host)\n"
        _ = text.withCString { pwrite(fd, $0, strlen($0), 0) }
        descriptor = fd
    }

    /// Who holds the lock at `directory`, or nil when nobody does.
    package static func holder(of directory: String) -> String? {
        let fd = open(path(in: directory), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return nil
        }
        return readHolder(fd)
    }

    private static func readHolder(_ fd: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = pread(fd, &buffer, buffer.count, 0)
        guard count > 0 else { return "holder unknown" }
        let text = String(decoding: buffer[0..<count], as: UTF8.self)
        return text.split(separator: "\n").first.map(String.init) ?? "holder unknown"
    }

    /// Releases the lock.
    package func release() {
        guard descriptor >= 0 else { return }
        flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }
}
