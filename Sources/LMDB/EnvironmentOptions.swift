import CLMDB

/// How commits reach the disk.
package enum Durability: Sendable, Hashable {
    /// Every commit is flushed (`fsync`) before it returns. The default.
    case synced
    /// Data pages are flushed on commit but the meta page is not
    /// (`MDB_NOMETASYNC`): a crash may lose the last transaction, never
    /// consistency.
    case noMetaSync
    /// Nothing is flushed on commit (`MDB_NOSYNC`): a system crash may lose
    /// recent transactions. Only for data that can be rebuilt; call
    /// `Environment.sync(force:)` to flush by hand.
    case noSync
}

/// The options an environment is opened with.
///
/// ```swift
/// var options = EnvironmentOptions(path: dir)
/// options.databases = ["meta", "chunks"]
/// options.mapSize = 1 << 30
/// let env = try Environment(options)
/// ```
package struct EnvironmentOptions: Sendable {
    /// The directory holding `data.mdb` and `lock.mdb`. It must exist.
    package var path: String
    /// The initial map size in bytes. It grows on demand, see `maxMapSize`.
    package var mapSize: Int = 64 << 20
    /// The ceiling for map growth in bytes; a write that would need a larger
    /// map fails with `LMDBError.Code.mapFull`.
    package var maxMapSize: Int = 1 << 40
    /// The most reader slots (concurrent read transactions across processes).
    package var maxReaders: UInt32 = 126
    /// The most named databases.
    package var maxDatabases: UInt32 = 32
    /// The named databases to open (and, unless read-only, create) at open.
    package var databases: [String] = []
    /// Opens the environment read-only (`MDB_RDONLY`).
    package var readOnly: Bool = false
    /// Whether a writable open creates declared databases that do not exist
    /// (`MDB_CREATE`). When false, a missing one fails the open with
    /// `LMDBError.Code.unknownDatabase`, as in a read-only open.
    package var createDatabases: Bool = true
    /// How commits reach the disk. Synced unless explicitly relaxed.
    package var durability: Durability = .synced
    /// Turns off the kernel's read-ahead (`MDB_NORDAHEAD`), useful when the
    /// store is much larger than memory and reads are random.
    package var noReadAhead: Bool = false
    /// The file mode for newly created `data.mdb` and `lock.mdb`.
    package var fileMode: UInt32 = 0o600
    /// How long a write that filled the map waits for this process's open
    /// read transactions to end so the map can grow (new transactions wait
    /// meanwhile). When they have not ended by then, the write fails with
    /// `LMDBError.Code.growthTimedOut` and the waiting transactions go on.
    /// This is also the longest a new transaction waits for one growth. For
    /// the same time after such a wait in vain, growth holds nothing back:
    /// writes that need it fail at once while a read is open.
    package var maxGrowthWait: Duration = .seconds(1)
    /// How often, at most, a committing writer clears reader slots left by
    /// dead processes (`mdb_reader_check`), so a killed reader does not pin
    /// pages until the next open. Nil clears them only at open.
    package var staleReaderCheckInterval: Duration? = .seconds(1)

    /// Options for the environment in directory `path`, with defaults.
    package init(path: String) { self.path = path }

    var flags: UInt32 {
        var flags = UInt32(MDB_NOTLS)
        if readOnly { flags |= UInt32(MDB_RDONLY) }
        switch durability {
        case .synced: break
        case .noMetaSync: flags |= UInt32(MDB_NOMETASYNC)
        case .noSync: flags |= UInt32(MDB_NOSYNC)
        }
        if noReadAhead { flags |= UInt32(MDB_NORDAHEAD) }
        return flags
    }

    func validate() throws(LMDBError) {
        func fail(_ message: String) -> LMDBError {
            LMDBError(.invalidOption, operation: "open", path: path, message: message)
        }
        if mapSize <= 0 { throw fail("mapSize must be positive, got \(mapSize)") }
        if maxMapSize < mapSize {
            throw fail("maxMapSize \(maxMapSize) is below mapSize \(mapSize)")
        }
        if maxReaders == 0 { throw fail("maxReaders must be at least 1") }
        if databases.count > Int(maxDatabases) {
            throw fail("\(databases.count) databases declared but maxDatabases is \(maxDatabases)")
        }
        if maxGrowthWait < .zero { throw fail("maxGrowthWait must not be negative, got \(maxGrowthWait)") }
        if let interval = staleReaderCheckInterval, interval < .zero {
            throw fail("staleReaderCheckInterval must not be negative, got \(interval)")
        }
        if Set(databases).count != databases.count { throw fail("a database is declared twice") }
        if databases.contains(where: \.isEmpty) { throw fail("a database name is empty") }
    }
}
