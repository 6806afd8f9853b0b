#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The private key file format:
///
/// ```
/// dsmr-ed25519-private-key-v1
/// <64 lowercase hex characters: the 32-byte seed>
/// ```
///
/// Files are created with mode 0600 and never overwritten; loading refuses a
/// file whose mode gives any access to group or others.
extension Ed25519Signer {
    /// The first line of a key file.
    public static let keyFileHeader = "dsmr-ed25519-private-key-v1"

    private static let maxKeyFileBytes = 4_096

    /// The key file's text.
    public var keyFileText: String {
        "\(Self.keyFileHeader)\n\(Hex.encode(seed))\n"
    }

    /// Parses a key file's text: the header line, then the hex seed, then an optional final newline.
    ///
    /// - Throws: ``KeyError/Code/malformedFile`` for anything else.
    public init(keyFileText text: String) throws(KeyError) {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        guard lines.count == 2, lines[0] == Self.keyFileHeader else {
            throw KeyError(
                code: .malformedFile,
                message: "not a DSMR key file: expected the line \"\(Self.keyFileHeader)\" then a 64-character hex seed")
        }
        guard lines[1].utf8.count == 2 * Self.seedByteCount, let seed = Hex.decode(lines[1]) else {
            throw KeyError(code: .malformedFile, message: "key file's second line is not a 64-character hex seed")
        }
        try self.init(seed: seed)
    }

    /// Writes the key to a new file at `path` with mode 0600.
    ///
    /// - Throws: ``KeyError/Code/io`` when the file exists or cannot be written.
    public func writeKeyFile(to path: String) throws(KeyError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Self.ioError("cannot create key file", path) }
        defer { close(fd) }
        guard fchmod(fd, 0o600) == 0 else { throw Self.ioError("cannot set mode 0600 on key file", path) }
        let bytes = Array(keyFileText.utf8)
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, bytes.count - written) }
            if result < 0 && errno == EINTR { continue }
            guard result > 0 else { throw Self.ioError("cannot write key file", path) }
            written += result
        }
        guard fsync(fd) == 0 else { throw Self.ioError("cannot sync key file", path) }
    }

    /// Loads the key file at `path`.
    ///
    /// - Throws: ``KeyError/Code/insecurePermissions`` when group or others have
    ///   any access to the file, ``KeyError/Code/malformedFile`` or
    ///   ``KeyError/Code/io`` otherwise.
    public init(keyFile path: String) throws(KeyError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Self.ioError("cannot open key file", path) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw Self.ioError("cannot stat key file", path) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw KeyError(code: .malformedFile, message: "key file \(path) is not a regular file")
        }
        let mode = info.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw KeyError(
                code: .insecurePermissions,
                message: "key file \(path) has mode 0\(String(mode, radix: 8)), so group or others can access it; "
                    + "run `chmod 600 \(path)`")
        }
        var buffer = [UInt8](repeating: 0, count: Self.maxKeyFileBytes + 1)
        var count = 0
        while count < buffer.count {
            let result = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + count, $0.count - count) }
            if result < 0 && errno == EINTR { continue }
            guard result >= 0 else { throw Self.ioError("cannot read key file", path) }
            if result == 0 { break }
            count += result
        }
        guard count <= Self.maxKeyFileBytes else {
            throw KeyError(code: .malformedFile, message: "key file \(path) is larger than \(Self.maxKeyFileBytes) bytes")
        }
        do {
            try self.init(keyFileText: String(decoding: buffer[0..<count], as: UTF8.self))
        } catch {
            throw KeyError(code: error.code, message: "\(path): \(error.message)")
        }
    }

    private static func ioError(_ what: String, _ path: String) -> KeyError {
        let reason = String(cString: strerror(errno))
        return KeyError(code: .io, message: "\(what) \(path): \(reason)")
    }
}
