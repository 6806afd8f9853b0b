import DSMR

/// How a node paces its requests to peers.
public struct NodeOptions: Sendable {
    /// How long to wait for one share.
    public var shareTimeout: Duration = .milliseconds(250)
    /// How long the builder keeps asking for shares before giving up on a chunk.
    public var aggregationDeadline: Duration = .seconds(2)
    /// How long to wait for one chunk when fetching.
    public var fetchTimeout: Duration = .milliseconds(250)
    /// How many times every signer is asked for a missing chunk.
    public var fetchRounds = 3
    /// The pause before the second round of fetching; it doubles each round.
    public var fetchBackoff: Duration = .milliseconds(10)
    /// The most verified blocks kept while consensus decides on them
    /// (``Node/verify(block:parent:)`` keeps each; ``Node/accept(_:executing:)`` and
    /// ``Node/reject(_:)`` let them go). A proposer chooses how many valid
    /// blocks it makes, so the table is bounded; consensus decides on a
    /// handful at a time. Past the bound the block verified first is
    /// forgotten: a child of it then fails with
    /// ``NodeError/Code/unknownParent`` until it is verified again.
    public var maxProcessingBlocks = 1_024
    /// The timestamp of the genesis block (height 0) a new store starts with.
    public var genesisTime: ChainTime = .milliseconds(0)

    /// The defaults.
    public init() {}
}
