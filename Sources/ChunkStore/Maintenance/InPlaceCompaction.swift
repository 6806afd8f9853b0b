/// The sizes of a store's data file before and after compaction.
public struct CompactionResult: Sendable, Hashable, Codable {
    /// Bytes of `data.mdb` before.
    public let bytesBefore: Int
    /// Bytes of `data.mdb` after.
    public let bytesAfter: Int
}

extension ChunkStore {
    /// Compacts the store of a stopped node where it lies: takes the writer
    /// lock (refusing, with the holder named, while a node holds it), writes
    /// a compacted copy to a new temporary file in the store's directory,
    /// syncs it, renames it over `data.mdb` (atomic: a crash leaves either
    /// the old file or the new one) and syncs the directory.
    ///
    /// No other process may have the store open, read-only tools included:
    /// one that does keeps reading the old file until it closes.
    ///
    /// The corresponding C call is `mdb_env_copyfd2` with `MDB_CP_COMPACT`.
    public static func compactInPlace(at path: String) throws -> CompactionResult {
        let lock = try WriterLock(directory: path)
        defer { lock.release() }
        let data = path + "/data.mdb"
        let before = try FileSystem.size(data)
        do {
            let store = try ChunkStore(adopting: path, readOnly: true)
            defer { store.close() }
            let file = try OutputFile("data.mdb", in: try OutputPlacement.Directory(store: path), replacing: true)
            try file.withDescriptor { descriptor in
                try SealedErrors.sealed(path, .reading) {
                    try store.environment.copy(toDescriptor: descriptor, compact: true)
                }
            }
            try file.finish()
        }
        return CompactionResult(bytesBefore: before, bytesAfter: try FileSystem.size(data))
    }
}
