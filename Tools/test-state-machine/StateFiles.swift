import Foundation
import SystemC

/// The few file operations the machine's state needs, over POSIX. A call
/// that fails is a ``KeyValueMachineError`` of code `io` naming the C
/// function, the path and the system's reason.
enum StateFiles {
    /// Makes `path` and any missing parent directories.
    static func makeDirectory(_ path: String) throws(KeyValueMachineError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw KeyValueMachineError(.io, "cannot make the directory \(path): \(error)")
        }
    }

    /// The whole file at `path`, or nil when there is none.
    ///
    /// The corresponding C functions are `open` and `read`.
    static func read(_ path: String) throws(KeyValueMachineError) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor < 0 {
            if errno == ENOENT { return nil }
            throw failure("open", path)
        }
        defer { _ = close(descriptor) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let got = buffer.withUnsafeMutableBytes { SystemC.read(descriptor, $0.baseAddress, $0.count) }
            if got < 0 {
                if errno == EINTR { continue }
                throw failure("read", path)
            }
            if got == 0 { return bytes }
            bytes.append(contentsOf: buffer[0..<got])
        }
    }

    /// Replaces the file at `path` with `bytes` in one durable step: writes
    /// `path.tmp`, flushes it, renames it over `path`, then flushes the
    /// directory so the rename survives a crash. A crash at any point
    /// leaves `path` either as it was or as `bytes`; a `.tmp` left behind is
    /// overwritten by the next replacement.
    ///
    /// The corresponding C functions are `open`, `write`, `fsync` and `rename`.
    static func replace(_ path: String, with bytes: [UInt8]) throws(KeyValueMachineError) {
        let temporary = path + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw failure("open", temporary) }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, $0.count - written) }
            if count < 0 {
                if errno == EINTR { continue }
                let error = failure("write", temporary)
                _ = close(descriptor)
                throw error
            }
            written += count
        }
        guard fsync(descriptor) == 0 else {
            let error = failure("fsync", temporary)
            _ = close(descriptor)
            throw error
        }
        guard close(descriptor) == 0 else { throw failure("close", temporary) }
        guard rename(temporary, path) == 0 else { throw failure("rename", "\(temporary) to \(path)") }
        try syncDirectory(of: path)
    }

    /// The size of the file at `path` in bytes; 0 when it cannot be read.
    ///
    /// The corresponding C function is `stat`.
    static func size(_ path: String) -> UInt64 {
        var info = stat()
        guard stat(path, &info) == 0 else { return 0 }
        return UInt64(info.st_size)
    }

    /// Flushes the directory holding `path`, so that a rename in it is durable.
    private static func syncDirectory(of path: String) throws(KeyValueMachineError) {
        let directory = (path as NSString).deletingLastPathComponent
        let descriptor = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure("open", directory) }
        defer { _ = close(descriptor) }
        guard fsync(descriptor) == 0 else { throw failure("fsync", directory) }
    }

    /// The error of C function `call` on `path`, from `errno`.
    private static func failure(_ call: String, _ path: String) -> KeyValueMachineError {
        let code = errno
        return KeyValueMachineError(.io, "\(call) \(path): \(String(cString: strerror(code))) (errno \(code))")
    }
}
