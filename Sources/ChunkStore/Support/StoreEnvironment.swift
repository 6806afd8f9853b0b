import LMDB

/// Opens a store directory's LMDB environment with the store's databases:
/// the one place that knows how a store maps onto LMDB, shared by opening,
/// loading a dump and reading an identity.
package enum StoreEnvironment {
    /// Opens the environment at `path` with `databases` (all of the store's
    /// by default). A directory without any of them is given all of them
    /// when writable (a new store); read-only, it is refused as `wrongStore`,
    /// or as `damaged` when a node's `writer.lock` shows it was a store. A store that holds some of them but not all is damaged (its
    /// list of tables lost entries): it is refused as `damaged` and no table
    /// is created over the loss.
    package static func open(
        _ path: String, readOnly: Bool, durability: StoreDurability = .synced, mapSize: Int? = nil,
        maxMapSize: Int? = nil, maxGrowthWait: Duration? = nil, databases: [String] = Schema.all
    ) throws -> Environment {
        var options = EnvironmentOptions(path: path)
        options.databases = databases
        options.readOnly = readOnly
        options.createDatabases = false
        options.durability = durability.lmdb
        if let mapSize { options.mapSize = mapSize }
        if let maxMapSize { options.maxMapSize = max(maxMapSize, options.mapSize) }
        if let maxGrowthWait { options.maxGrowthWait = maxGrowthWait }
        do {
            return try Environment(options)
        } catch let error as LMDBError where readOnly && error.code == .noSuchFile {
            throw ChunkStoreError(.wrongStore, "\(path) is not a chunk store (\(error.message))")
        } catch let error as LMDBError where error.code == .unknownDatabase {
            let present = databases.filter { exists($0, in: options) }
            if !present.isEmpty {
                let missing = databases.filter { !present.contains($0) }
                throw ChunkStoreError(
                    .damaged,
                    "the store at \(path) is damaged: it holds the tables \(present) but not \(missing), "
                        + "so its list of tables lost entries; nothing was created or changed. "
                        + "`dsmr-store check -s \(path)` shows what else is damaged; restore the store from a backup")
            }
            if readOnly && FileSystem.exists(WriterLock.path(in: path)) {
                // A node wrote here (it left its lock file), yet LMDB finds
                // none of the tables: the list of tables is unreadable.
                throw ChunkStoreError(
                    .damaged,
                    "the store at \(path) is damaged: a node wrote it (writer.lock is there) but none of its "
                        + "tables can be found; nothing was changed")
            }
            if readOnly { throw ChunkStoreError(.wrongStore, "\(path) is not a chunk store (\(error.message))") }
            options.createDatabases = true
            return try Environment(options)
        }
    }

    /// Whether the environment of `options` holds `database`.
    private static func exists(_ database: String, in options: EnvironmentOptions) -> Bool {
        var probe = options
        probe.databases = [database]
        probe.readOnly = true
        guard let environment = try? Environment(probe) else { return false }
        environment.close()
        return true
    }
}
