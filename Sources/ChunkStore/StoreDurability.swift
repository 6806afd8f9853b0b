import LMDB

/// How a store's commits reach the disk.
public enum StoreDurability: Sendable, Hashable {
    /// Every commit is flushed before it returns: a share handed out
    /// survives an operating-system crash. The default.
    case synced
    /// Data pages are flushed on commit but the meta page is not: a crash
    /// may lose the last commit, never consistency.
    case noMetaSync
    /// Nothing is flushed on commit: a system crash may lose recent commits.
    /// Only for stores that can be rebuilt; `ChunkStore.sync()` flushes by
    /// hand.
    case noSync

    /// The LMDB setting that gives this durability.
    var lmdb: Durability {
        switch self {
        case .synced: .synced
        case .noMetaSync: .noMetaSync
        case .noSync: .noSync
        }
    }
}
