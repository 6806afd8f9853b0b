/// The protocol's parameters. Times are milliseconds; slots are numbers.
///
/// Time helpers saturate instead of trapping: a slot so large that its start
/// does not fit in `Int64` starts at `Int64.max`. They assume the rules
/// passed ``validate()`` (positive durations, a non-empty window).
public struct Rules: Hashable, Sendable {
    /// The length of a slot: `slot = time / slotDuration`.
    public var slotDuration: Int64
    /// How long after its slot starts a chunk stays valid.
    public var chunkLifetime: Int64
    /// How many slots ahead of the current one a chunk may be.
    public var maxFutureSlots: UInt64
    /// The largest encoded chunk.
    public var maxChunkBytes: Int
    /// The most chunks a producer may have signed per slot.
    public var maxChunksPerSlot: Int
    /// The length of a rate-limit window, in slots.
    public var rateLimitWindow: UInt64
    /// The most units a producer's chunks may use in one window.
    public var maxUnitsPerWindow: Dimensions
    /// The stake that makes a certificate; a ``Quorum`` is valid by construction.
    public var quorum: Quorum
    /// The length of an epoch: `epoch = time / epochDuration`.
    public var epochDuration: Int64
    /// How far after its parent's timestamp a block's timestamp may lie, so a block cannot
    /// move chain time far ahead in one step; an idle chain catches up in steps of this size.
    public var maxBlockSkew: Int64
    /// How far back a block looks for repeated certificates; at least ``chunkLifetime``.
    public var validityWindow: Int64

    /// Rules with the given values; each default is that of ``Rules/default``.
    public init(
        slotDuration: Int64 = 1_000,
        chunkLifetime: Int64 = 60_000,
        maxFutureSlots: UInt64 = 2,
        maxChunkBytes: Int = 2 << 20,
        maxChunksPerSlot: Int = 1,
        rateLimitWindow: UInt64 = 10,
        maxUnitsPerWindow: Dimensions = Dimensions(
            bandwidth: 20 << 20, compute: 100_000_000, storageRead: 100_000_000,
            storageAllocate: 100_000_000, storageWrite: 100_000_000),
        quorum: Quorum = .default,
        epochDuration: Int64 = 3_600_000,
        maxBlockSkew: Int64 = 5_000,
        validityWindow: Int64 = 60_000
    ) {
        self.slotDuration = slotDuration
        self.chunkLifetime = chunkLifetime
        self.maxFutureSlots = maxFutureSlots
        self.maxChunkBytes = maxChunkBytes
        self.maxChunksPerSlot = maxChunksPerSlot
        self.rateLimitWindow = rateLimitWindow
        self.maxUnitsPerWindow = maxUnitsPerWindow
        self.quorum = quorum
        self.epochDuration = epochDuration
        self.maxBlockSkew = maxBlockSkew
        self.validityWindow = validityWindow
    }

    /// One-second slots, one-minute chunk lifetime, 2 MiB chunks, one chunk per
    /// slot, ten-slot rate-limit windows, 67/100 quorum, one-hour epochs.
    public static let `default` = Rules()

    /// Throws the first inconsistency found.
    public func validate() throws(RulesError) {
        func check(_ condition: Bool, _ rule: String, _ message: String) throws(RulesError) {
            if !condition { throw RulesError(rule: rule, message: message) }
        }
        try check(slotDuration > 0, "slotDuration", "must be positive, is \(slotDuration)")
        try check(
            chunkLifetime >= slotDuration, "chunkLifetime",
            "must be at least slotDuration (\(slotDuration)), is \(chunkLifetime)")
        try check(
            maxChunkBytes >= Chunk.minimumEncodedBytes && maxChunkBytes <= Int(UInt32.max), "maxChunkBytes",
            "must be between \(Chunk.minimumEncodedBytes) and \(UInt32.max), is \(maxChunkBytes)")
        try check(maxChunksPerSlot >= 1, "maxChunksPerSlot", "must be at least 1, is \(maxChunksPerSlot)")
        try check(rateLimitWindow >= 1, "rateLimitWindow", "must be at least 1 slot, is \(rateLimitWindow)")
        try check(
            maxUnitsPerWindow.bandwidth >= UInt64(maxChunkBytes), "maxUnitsPerWindow",
            "bandwidth \(maxUnitsPerWindow.bandwidth) is below maxChunkBytes (\(maxChunkBytes)): no full chunk could be signed"
        )
        try check(
            epochDuration >= slotDuration, "epochDuration",
            "must be at least slotDuration (\(slotDuration)), is \(epochDuration)")
        try check(maxBlockSkew >= 0, "maxBlockSkew", "must not be negative, is \(maxBlockSkew)")
        try check(
            validityWindow >= chunkLifetime, "validityWindow",
            "must be at least chunkLifetime (\(chunkLifetime)), is \(validityWindow)")
    }

    /// The slot containing `time`; times before 0 are in slot 0.
    public func slot(at time: Int64) -> UInt64 {
        time <= 0 ? 0 : UInt64(time) / UInt64(slotDuration)
    }

    /// The time `slot` starts, saturating at `Int64.max`.
    public func slotStart(_ slot: UInt64) -> Int64 {
        let (product, overflow) = slot.multipliedReportingOverflow(by: UInt64(slotDuration))
        return overflow || product > UInt64(Int64.max) ? Int64.max : Int64(product)
    }

    /// When chunks of `slot` expire: its start plus ``chunkLifetime``, saturating.
    public func expiry(ofSlot slot: UInt64) -> Int64 {
        let (sum, overflow) = slotStart(slot).addingReportingOverflow(chunkLifetime)
        return overflow ? Int64.max : sum
    }

    /// The epoch containing `time`; times before 0 are in epoch 0.
    public func epoch(at time: Int64) -> UInt64 {
        time <= 0 ? 0 : UInt64(time) / UInt64(epochDuration)
    }

    /// The epoch `slot` belongs to: the epoch containing the slot's start.
    ///
    /// A certificate's epoch is this epoch of its chunk's slot, and a share
    /// signs it; see ``ChunkCertificate/verify(against:rules:domain:verifier:)``.
    public func epoch(ofSlot slot: UInt64) -> UInt64 {
        epoch(at: slotStart(slot))
    }

    /// The rate-limit window containing `slot`.
    public func window(ofSlot slot: UInt64) -> UInt64 {
        slot / rateLimitWindow
    }
}
