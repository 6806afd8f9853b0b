/// The sizes of a store's data file before and after compaction.
public struct CompactionResult: Sendable, Hashable, Codable {
    /// Bytes of `data.mdb` before.
    public let bytesBefore: Int
    /// Bytes of `data.mdb` after.
    public let bytesAfter: Int
}

extension ChunkStore {
    /// The directory an in-place compaction writes its copy to, inside the
    /// store, so the final rename stays on one file system.
    static func compactionDirectory(in path: String) -> String { path + "/compacting" }

    /// Compacts the store of a stopped node where it lies: takes the writer
    /// lock (refusing, with the holder named, while a node holds it), writes
    /// a compacted copy inside the store directory, syncs it, renames it over
    /// `data.mdb` (atomic: a crash leaves either the old file or the new one)
    /// and syncs the directory.
    ///
    /// No other process may have the store open, read-only tools included:
    /// one that does keeps reading the old file until it closes.
    public static func compactInPlace(at path: String) throws -> CompactionResult {
        let lock = try WriterLock(directory: path)
        defer { lock.release() }
        let data = path + "/data.mdb"
        let staging = compactionDirectory(in: path)
        // A copy left by an interrupted compaction is stale: start afresh.
        try FileSystem.removeFile(staging + "/data.mdb")
        try FileSystem.removeDirectory(staging)
        let before = try FileSystem.size(data)
        do {
            let store = try ChunkStore(adopting: path, readOnly: true)
            defer { store.close() }
            try store.compact(to: staging)
        } catch {
            // The store is untouched; leave no half-written copy behind.
            try? FileSystem.removeFile(staging + "/data.mdb")
            try? FileSystem.removeDirectory(staging)
            throw error
        }
        try FileSystem.replace(data, with: staging + "/data.mdb")
        try FileSystem.syncDirectory(path)
        try FileSystem.removeDirectory(staging)
        try FileSystem.syncDirectory(path)
        return CompactionResult(bytesBefore: before, bytesAfter: try FileSystem.size(data))
    }
}
