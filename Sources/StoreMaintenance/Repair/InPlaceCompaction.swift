import ChunkStore
import DSMR
import Foundation
import LMDB
import LMDBForensics

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
    /// the old file or the new one) and syncs the directory. Before the
    /// copy, every `certificates` and `blocks` row written before rows
    /// carried checksums is rewritten with its checksum, in one synced
    /// transaction on the store itself.
    ///
    /// No other process may have the store open, read-only tools included:
    /// one that does would keep reading the old file. Such a process is
    /// refused with `locked`, naming its pid, before the copy is made and
    /// again just before the rename: one with a reader slot in LMDB's reader
    /// table (`mdb_reader_list`), reading or between reads, and one that
    /// has the store open at all (LMDB's shared lock on `lock.mdb`, found
    /// with `LockFileProbe`). A process that opens the store in the moment
    /// between that last check and the rename is not seen.
    ///
    /// The corresponding C call is `mdb_env_copyfd2` with `MDB_CP_COMPACT`.
    public static func compactInPlace(at path: String) throws -> CompactionResult {
        let lock = try WriterLock(directory: path)
        defer { lock.release() }
        let data = path + "/data.mdb"
        let before = try FileSystem.size(data)
        // Closed only after the store below: closing it drops this
        // process's LMDB locks on lock.mdb.
        let probe = try SealedErrors.sealed(path, .opening) { try LockFileProbe(directory: path) }
        defer { probe.close() }
        let limits: DecodingLimits
        do {
            let store = try ChunkStore(adopting: path, readOnly: true)
            defer { store.close() }
            try refuseOtherOpeners(path, probe, store)
            limits = DecodingLimits(rules: store.configuration.rules)
        }
        _ = try addChecksums(at: path, limits: limits)
        do {
            let store = try ChunkStore(adopting: path, readOnly: true)
            defer { store.close() }
            try refuseOtherOpeners(path, probe, store)
            let file = try OutputFile("data.mdb", in: try OutputPlacement.Directory(store: path), replacing: true)
            try file.withDescriptor { descriptor in
                try SealedErrors.sealed(path, .reading) {
                    try store.environment.copy(toDescriptor: descriptor, compact: true)
                }
            }
            try refuseOtherOpeners(path, probe, store)
            try file.finish()
        }
        return CompactionResult(bytesBefore: before, bytesAfter: try FileSystem.size(data))
    }

    /// Throws `locked`, naming the process, when a process other than this
    /// one has the store at `path` open.
    private static func refuseOtherOpeners(_ path: String, _ probe: LockFileProbe, _ store: ChunkStore) throws {
        let me = getpid()
        let readers = try SealedErrors.sealed(path, .reading) { try store.environment.readers() }
        let others = Set(readers.map(\.processID).filter { $0 != me && processIsAlive($0) }).sorted()
        if !others.isEmpty {
            throw ChunkStoreError(
                .locked,
                "the store at \(path) is being read by \(others.map { "pid \($0)" }.joined(separator: ", ")) (reader table); it would go on reading the replaced file, so nothing was compacted. Stop it first"
            )
        }
        if let other = try SealedErrors.sealed(path, .reading, { try probe.otherProcess() }) {
            throw ChunkStoreError(
                .locked,
                "the store at \(path) is open in pid \(other) (LMDB's lock on lock.mdb); it would go on reading the replaced file, so nothing was compacted. Stop it first"
            )
        }
    }

    /// Whether `pid` names a running process (`kill(pid, 0)`).
    private static func processIsAlive(_ pid: Int32) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }
}
