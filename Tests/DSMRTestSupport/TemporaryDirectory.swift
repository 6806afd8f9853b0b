import Foundation

/// A fresh directory made with `mkdtemp`, named `<label>-XXXXXX`, removed
/// with everything in it by ``remove()``.
public struct TemporaryDirectory: Sendable {
    /// The directory's path.
    public let path: String

    /// Makes a directory under `parent`, by default the system's temporary
    /// directory (`TMPDIR`). Give a short `parent` such as `/tmp` where a
    /// Unix socket will live inside (their paths must stay under 104 bytes).
    public init(_ label: String = "dsmr-test", in parent: String? = nil) throws {
        var base = parent ?? NSTemporaryDirectory()
        while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
        var template = Array("\(base)/\(label)-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw TestFailure("mkdtemp under \(base): \(String(cString: strerror(errno)))")
        }
        path = String(cString: made)
    }

    /// A path inside the directory.
    public func appending(_ name: String) -> String { path + "/" + name }

    /// Makes (and returns) the subdirectory `name`.
    @discardableResult
    public func makeDirectory(_ name: String, mode: mode_t = 0o700) throws -> String {
        let sub = appending(name)
        guard mkdir(sub, mode) == 0 else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        return sub
    }

    /// Removes the directory and everything in it.
    public func remove() { removeDirectory(path) }
}

/// The path of a fresh directory made with `mkdtemp` under the system's
/// temporary directory; the caller removes it. Stops the test process when
/// no directory can be made.
public func makeTemporaryDirectory(_ label: String) -> String {
    do {
        return try TemporaryDirectory(label).path
    } catch {
        preconditionFailure("\(error)")
    }
}

/// Calls `body` with the path of a fresh temporary directory (see
/// ``makeTemporaryDirectory(_:)``), removed with everything in it afterwards.
public func withTemporaryDirectory<T>(
    _ label: String = "dsmr-test", _ body: (String) async throws -> T
) async rethrows -> T {
    let path = makeTemporaryDirectory(label)
    defer { removeDirectory(path) }
    return try await body(path)
}

/// Calls `body` with a fresh ``TemporaryDirectory``, removed with everything
/// in it afterwards; the blocking form, for tests outside Swift concurrency.
public func withTemporaryDirectory<T>(
    _ label: String = "dsmr-test", _ body: (TemporaryDirectory) throws -> T
) throws -> T {
    let directory = try TemporaryDirectory(label)
    defer { directory.remove() }
    return try body(directory)
}

/// Removes the directory at `path` and everything in it, if it is there.
private func removeDirectory(_ path: String) {
    // A directory a test made read-only must be writable to be emptied.
    _ = chmod(path, 0o700)
    try? FileManager.default.removeItem(atPath: path)
}
