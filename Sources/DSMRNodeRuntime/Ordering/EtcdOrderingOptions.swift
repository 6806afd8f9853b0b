/// How ``EtcdOrdering`` proposes, rotates and takes over.
public struct EtcdOrderingOptions: Sendable, Hashable {
    /// The leadership lease's time to live, in seconds (etcd's least is 2):
    /// a proposer that dies loses its leadership after about this long.
    public var leaseSeconds: Int64 = 2
    /// A leader resigns after proposing this many blocks.
    public var rotateBlocks = 40
    /// A leader resigns after holding the leadership this long.
    public var rotateAfter: Duration = .seconds(5)
    /// When no block has been accepted for this long, any validator may
    /// publish an attempt at the next height (each validator waits this
    /// plus a quarter second per place in the validator list, so they
    /// seldom all publish at once).
    public var takeoverAfter: Duration = .seconds(4)
    /// The largest block proposed, in encoded bytes: below etcd's request
    /// limit (1.5 MiB by default).
    public var maxBlockBytes = 1 << 20
    /// How many heights below the newest the log keeps: the leader deletes
    /// older attempts and compacts etcd's history. A validator further
    /// behind than this cannot catch up from the log (it needs state sync),
    /// so keep it at least as many heights as validators keep accepted
    /// blocks for; at least 10,000.
    public var retainHeights: UInt64 = 10_000
    /// The leader prunes the log and compacts etcd when it publishes a
    /// block at a multiple of this height (0: never).
    public var pruneEvery: UInt64 = 1_000

    /// The defaults.
    public init() {}
}
