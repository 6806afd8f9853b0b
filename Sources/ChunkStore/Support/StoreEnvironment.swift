import LMDB

/// Opens a store directory's LMDB environment with the store's databases:
/// the one place that knows how a store maps onto LMDB, shared by opening,
/// loading a dump and reading an identity.
enum StoreEnvironment {
    /// Opens the environment at `path` with `databases` (all of the store's
    /// by default). A directory without them is refused as `wrongStore`.
    static func open(
        _ path: String, readOnly: Bool, durability: StoreDurability = .synced, mapSize: Int? = nil,
        maxMapSize: Int? = nil, maxGrowthWait: Duration? = nil, databases: [String] = Schema.all
    ) throws -> Environment {
        var options = EnvironmentOptions(path: path)
        options.databases = databases
        options.readOnly = readOnly
        options.durability = durability.lmdb
        if let mapSize { options.mapSize = mapSize }
        if let maxMapSize { options.maxMapSize = max(maxMapSize, options.mapSize) }
        if let maxGrowthWait { options.maxGrowthWait = maxGrowthWait }
        do {
            return try Environment(options)
        } catch let error as LMDBError where error.code == .unknownDatabase || (readOnly && error.code == .noSuchFile) {
            throw ChunkStoreError(.wrongStore, "\(path) is not a chunk store (\(error.message))")
        }
    }
}
