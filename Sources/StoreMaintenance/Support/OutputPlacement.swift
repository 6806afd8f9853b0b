import ChunkStore
import Foundation

/// Where the tools may write: never inside a store's directory, never
/// through a symbolic link at the output, never over an existing output
/// unless asked to.
enum OutputPlacement {
    /// The files whose presence makes a directory a store's.
    static let storeFiles = ["data.mdb", "lock.mdb", "writer.lock"]

    /// A directory outputs go to, opened once and known to lie outside
    /// every store's directory.
    final class Directory {
        /// The path as given.
        let path: String
        /// The open directory.
        let descriptor: Int32
        /// Whether ``OutputPlacement/newStoreDirectory(_:)`` made it.
        fileprivate(set) var created = false

        /// Opens the directory at `path`, which must exist, and refuses it
        /// when it or any of its ancestors (by real path) holds a store.
        /// `output` names what is to be written there, for the error.
        init(outside path: String, for output: String) throws {
            descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard descriptor >= 0 else { throw FileSystem.ioError("cannot open the directory", path) }
            self.path = path
            try refuseInsideStore(output)
        }

        /// Opens a store's own directory, for the one output that belongs
        /// there: the compacted copy `compact --in-place` renames over
        /// `data.mdb`.
        init(store path: String) throws {
            descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard descriptor >= 0 else { throw FileSystem.ioError("cannot open the directory", path) }
            self.path = path
        }

        /// Opens `name` in `parent` without following a symbolic link.
        init(_ name: String, in parent: Directory, path: String) throws {
            descriptor = openat(parent.descriptor, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard descriptor >= 0 else {
                if errno == ELOOP || errno == ENOTDIR {
                    throw ChunkStoreError(
                        .alreadyExists, "\(path) is not a directory (a symbolic link is not followed)")
                }
                throw FileSystem.ioError("cannot open the directory", path)
            }
            self.path = path
        }

        deinit { close(descriptor) }

        /// Flushes the directory's entries to disk.
        func sync() throws {
            guard fsync(descriptor) == 0 else { throw FileSystem.ioError("cannot sync the directory", path) }
        }

        /// Throws ``ChunkStoreError/Code/outputInsideStore`` when this
        /// directory, by its real path, lies in a store's directory.
        private func refuseInsideStore(_ output: String) throws {
            guard let resolved = realpath(path, nil) else {
                throw FileSystem.ioError("cannot resolve the directory", path)
            }
            let real = String(cString: resolved)
            free(resolved)
            var opened = stat()
            var named = stat()
            guard fstat(descriptor, &opened) == 0, stat(real, &named) == 0, opened.st_dev == named.st_dev,
                opened.st_ino == named.st_ino
            else {
                throw ChunkStoreError(.io, "the directory \(path) changed while it was being opened; try again")
            }
            if let store = OutputPlacement.storeDirectory(containing: real) {
                throw ChunkStoreError(
                    .outputInsideStore,
                    "\(output) is inside the store at \(store); write outputs outside every store's directory")
            }
        }
    }

    /// The nearest of `realPath` and its ancestors that holds a store.
    static func storeDirectory(containing realPath: String) -> String? {
        var directory = realPath
        while true {
            for file in storeFiles {
                var info = stat()
                if lstat((directory == "/" ? "" : directory) + "/" + file, &info) == 0 { return directory }
            }
            if directory == "/" || !directory.hasPrefix("/") { return nil }
            directory = FileSystem.parent(of: directory)
        }
    }

    /// Whether anything (a symbolic link included) is named `name` in the
    /// directory `descriptor`.
    static func entryExists(_ name: String, in descriptor: Int32) -> Bool {
        var info = stat()
        return fstatat(descriptor, name, &info, AT_SYMLINK_NOFOLLOW) == 0
    }

    static func existsError(_ path: String) -> ChunkStoreError {
        ChunkStoreError(
            .alreadyExists, "\(path) exists already; an output is replaced only when asked to (dsmr-store: --force)")
    }

    /// Prepares `path` to receive a new store (a compacted, recovered or
    /// loaded copy): it must lie outside every store's directory; it is made
    /// with mode 0700 when missing (and its parent synced), and refused when
    /// it is a symbolic link, not a directory, or holds a store already.
    static func newStoreDirectory(_ path: String) throws -> Directory {
        var trimmed = path
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        let name = String(trimmed.split(separator: "/", omittingEmptySubsequences: false).last ?? "")
        guard !name.isEmpty, name != ".", name != ".." else {
            throw ChunkStoreError(.io, "\(path) does not name a new directory")
        }
        let parent = try Directory(outside: FileSystem.parent(of: trimmed), for: path)
        let created = mkdirat(parent.descriptor, name, 0o700) == 0
        if created {
            try parent.sync()
        } else if errno != EEXIST {
            throw FileSystem.ioError("cannot create the directory", path)
        }
        let directory = try Directory(name, in: parent, path: trimmed)
        directory.created = created
        if storeFiles.contains(where: { entryExists($0, in: directory.descriptor) }) {
            throw ChunkStoreError(
                .alreadyExists,
                "\(path) already holds a store; give a new or empty directory (a store is never replaced)")
        }
        return directory
    }
}
