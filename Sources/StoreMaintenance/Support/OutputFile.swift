import ChunkStore
import Foundation

/// A file a tool writes (a dump, a signing-history export), made so that no
/// one else's file is ever touched and no reader sees half of it.
///
/// - The directory is opened once, and must not lie inside a store's
///   directory (its real path and every ancestor are checked, see
///   ``OutputPlacement``); every later step works relative to that
///   descriptor, so a directory swapped in afterwards does not matter.
/// - The bytes go to a new temporary file beside the output, created with
///   `O_CREAT|O_EXCL|O_NOFOLLOW` and mode 0600 under a random name, so a
///   symbolic link or a stale file at any name is never opened.
/// - ``finish()`` syncs it, then links it to the output name (`linkat`,
///   which refuses any existing name, a symbolic link included) or, when
///   replacing was asked for, renames it over the name (`renameat`, which
///   replaces a symbolic link itself, never its target); then syncs the
///   directory. Whatever fails removes the temporary file.
final class OutputFile {
    let path: String
    private let directory: OutputPlacement.Directory
    private let name: String
    private let temporaryName: String
    private let descriptor: Int32
    private let replacing: Bool
    private var buffer: [UInt8] = []
    private var open = true

    /// Creates the temporary file for an output at `path`.
    ///
    /// - Throws: ``ChunkStoreError/Code/outputInsideStore`` when `path` lies
    ///   in a store's directory, ``ChunkStoreError/Code/alreadyExists`` when
    ///   something is at `path` and `replacing` is false,
    ///   ``ChunkStoreError/Code/io`` otherwise.
    convenience init(path: String, replacing: Bool) throws {
        let name = String(path.split(separator: "/", omittingEmptySubsequences: false).last ?? "")
        guard !name.isEmpty, name != ".", name != ".." else {
            throw ChunkStoreError(.io, "\(path) does not name a file")
        }
        let directory = try OutputPlacement.Directory(outside: FileSystem.parent(of: path), for: path)
        try self.init(name, in: directory, replacing: replacing, path: path)
    }

    /// Creates the temporary file for an output named `name` in `directory`;
    /// `path`, if given, is how messages name the output.
    init(_ name: String, in directory: OutputPlacement.Directory, replacing: Bool, path: String? = nil) throws {
        self.path = path ?? directory.path + "/" + name
        self.name = name
        self.directory = directory
        self.replacing = replacing
        if !replacing, OutputPlacement.entryExists(name, in: directory.descriptor) {
            throw OutputPlacement.existsError(self.path)
        }
        temporaryName = ".\(name).\(String(UInt64.random(in: 0...UInt64.max), radix: 16)).partial"
        descriptor = openat(
            directory.descriptor, temporaryName, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw FileSystem.ioError("cannot create a temporary file in", directory.path)
        }
        guard fchmod(descriptor, 0o600) == 0 else {
            let error = FileSystem.ioError("cannot set mode 0600 on a temporary file in", directory.path)
            discard()
            throw error
        }
        buffer.reserveCapacity(1 << 20)
    }

    deinit { if open { discard() } }

    private func discard() {
        close(descriptor)
        unlinkat(directory.descriptor, temporaryName, 0)
        open = false
    }

    /// Calls `body` with the temporary file's descriptor, for a writer
    /// that needs one (LMDB's copy); buffered bytes are written first.
    func withDescriptor<R>(_ body: (Int32) throws -> R) throws -> R {
        try flush()
        return try body(descriptor)
    }

    /// Appends bytes (buffered).
    func write(_ bytes: some Collection<UInt8>) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 20 { try flush() }
    }

    private func flush() throws {
        var offset = 0
        while offset < buffer.count {
            let written = buffer.withUnsafeBytes { bytes in
                Platform.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw FileSystem.ioError("cannot write the temporary file for", path)
            }
            offset += written
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes and syncs the file, puts it at its name and syncs the
    /// directory.
    func finish() throws {
        try flush()
        guard fsync(descriptor) == 0 else { throw FileSystem.ioError("cannot sync the temporary file for", path) }
        close(descriptor)
        open = false
        if replacing {
            guard renameat(directory.descriptor, temporaryName, directory.descriptor, name) == 0 else {
                let error = FileSystem.ioError("cannot rename the temporary file to", path)
                unlinkat(directory.descriptor, temporaryName, 0)
                throw error
            }
        } else {
            guard linkat(directory.descriptor, temporaryName, directory.descriptor, name, 0) == 0 else {
                let error =
                    errno == EEXIST
                    ? OutputPlacement.existsError(path) : FileSystem.ioError("cannot link the new file to", path)
                unlinkat(directory.descriptor, temporaryName, 0)
                throw error
            }
            unlinkat(directory.descriptor, temporaryName, 0)
        }
        guard fsync(directory.descriptor) == 0 else { throw FileSystem.ioError("cannot sync the directory of", path) }
    }
}
