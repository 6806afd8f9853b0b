import SystemC

extension Ed25519Signer {
    /// Writes the key to a new file at `path` with mode 0600, never replacing anything there.
    ///
    /// The bytes go to a temporary file created with `O_CREAT|O_EXCL|O_NOFOLLOW`
    /// and mode 0600 in the same directory, which is synced and then linked
    /// to `path` (`link` refuses an existing path, a symbolic link included)
    /// and removed; then the directory is synced so the new name survives a
    /// crash. A failure at any step removes the temporary file, so it never
    /// leaves a partial key at `path` that would block the next try. The file
    /// system must support hard links.
    ///
    /// - Throws: ``KeyError/Code/io`` when `path` exists or a step fails.
    public func writeKeyFile(to path: String) throws(KeyError) {
        try writeKeyFile(to: path, failingAfter: nil)
    }

    /// ``writeKeyFile(to:)``, failing with ``KeyError/Code/io`` after writing
    /// `limit` bytes of the temporary file when `limit` is given (for tests).
    func writeKeyFile(to path: String, failingAfter limit: Int?) throws(KeyError) {
        let directory = Self.directory(of: path)
        let name = path.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? path
        let temporary = "\(directory)/.\(name).\(UInt64.random(in: 0...UInt64.max)).tmp"
        var bytes = keyFileBytes()
        defer { wipe(&bytes) }
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Self.ioError("cannot create a temporary key file", temporary) }
        do throws(KeyError) {
            defer { close(fd) }
            guard fchmod(fd, 0o600) == 0 else { throw Self.ioError("cannot set mode 0600 on", temporary) }
            try Self.writeAll(bytes, to: fd, limit: limit, path: temporary)
            guard fsync(fd) == 0 else { throw Self.ioError("cannot sync", temporary) }
        } catch {
            unlink(temporary)
            throw error
        }
        guard link(temporary, path) == 0 else {
            let error =
                errno == EEXIST
                ? KeyError(code: .io, message: "key file \(path) already exists; a key file is never overwritten")
                : Self.ioError("cannot link the new key file to", path)
            unlink(temporary)
            throw error
        }
        guard unlink(temporary) == 0 else {
            throw Self.ioError("key written to \(path), but cannot remove the temporary copy", temporary)
        }
        try Self.syncDirectory(directory)
    }

    /// Loads the key file at `path`.
    ///
    /// The file is opened with `O_NOFOLLOW|O_NONBLOCK`, so a symbolic link is
    /// refused and a FIFO cannot hang the load; anything but a regular file is
    /// refused. The file must be owned by this process's effective user and
    /// give group and others no access (`chmod 600`).
    ///
    /// - Throws: ``KeyError/Code/notRegularFile`` for a symbolic link, FIFO,
    ///   directory or device, ``KeyError/Code/insecurePermissions`` for another
    ///   owner or group/other access, ``KeyError/Code/malformedFile`` or
    ///   ``KeyError/Code/io`` otherwise.
    public init(keyFile path: String) throws(KeyError) {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ELOOP {
                throw KeyError(
                    code: .notRegularFile,
                    message: "key file \(path) is a symbolic link, which is not followed; give the file's own path")
            }
            throw Self.ioError("cannot open key file", path)
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw Self.ioError("cannot stat key file", path) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw KeyError(
                code: .notRegularFile,
                message: "key file \(path) is not a regular file (a FIFO, directory, device or socket)")
        }
        let user = geteuid()
        guard info.st_uid == user else {
            throw KeyError(
                code: .insecurePermissions,
                message: "key file \(path) is owned by uid \(info.st_uid), not by this user (uid \(user)); "
                    + "run as its owner, or `chown` it to this user and `chmod 600 \(path)`")
        }
        let mode = info.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw KeyError(
                code: .insecurePermissions,
                message: "key file \(path) has mode 0\(String(mode, radix: 8)), so group or others can access it; "
                    + "run `chmod 600 \(path)`")
        }
        var buffer = [UInt8](repeating: 0, count: Self.maxKeyFileBytes + 1)
        defer { wipe(&buffer) }
        let count = try Self.readAll(into: &buffer, from: fd, path: path)
        guard count <= Self.maxKeyFileBytes else {
            throw KeyError(
                code: .malformedFile, message: "key file \(path) is larger than \(Self.maxKeyFileBytes) bytes")
        }
        var bytes = Array(buffer[0..<count])
        defer { wipe(&bytes) }
        do {
            try self.init(keyFileBytes: bytes)
        } catch {
            throw KeyError(code: error.code, message: "\(path): \(error.message)")
        }
    }

    private static func writeAll(_ bytes: [UInt8], to fd: CInt, limit: Int?, path: String) throws(KeyError) {
        let end = min(limit ?? bytes.count, bytes.count)
        var written = 0
        while written < end {
            let result = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, end - written) }
            if result < 0 && errno == EINTR { continue }
            guard result > 0 else { throw ioError("cannot write", path) }
            written += result
        }
        if let limit, limit < bytes.count {
            throw KeyError(code: .io, message: "write to \(path) stopped after \(limit) bytes (injected failure)")
        }
    }

    private static func readAll(into buffer: inout [UInt8], from fd: CInt, path: String) throws(KeyError) -> Int {
        var count = 0
        while count < buffer.count {
            let result = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + count, $0.count - count) }
            if result < 0 && errno == EINTR { continue }
            guard result >= 0 else { throw ioError("cannot read key file", path) }
            if result == 0 { break }
            count += result
        }
        return count
    }

    private static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private static func syncDirectory(_ directory: String) throws(KeyError) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw ioError("key written, but cannot open its directory to sync it", directory) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw ioError("key written, but cannot sync its directory", directory) }
    }

    private static func ioError(_ what: String, _ path: String) -> KeyError {
        let reason = String(cString: strerror(errno))
        return KeyError(code: .io, message: "\(what) \(path): \(reason)")
    }
}
