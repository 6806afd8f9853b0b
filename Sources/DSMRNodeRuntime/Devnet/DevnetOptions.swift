/// How a ``Devnet`` runs.
public struct DevnetOptions: Sendable {
    /// The devnet's directory (keys, configurations, stores), reused on the next run.
    public var directory: String
    /// How many validators, each its own `dsmr-node run` process.
    public var validators = 4
    /// How long the load runs; nil runs until ``Devnet/stopLoad()``.
    public var duration: Duration? = .seconds(20)
    /// Transfers submitted per second.
    public var transactionRate = 500
    /// The `dsmr-node` executable to start validators with.
    public var executable: String
    /// How often the ordering driver asks for a block.
    public var blockInterval: Duration = .milliseconds(250)
    /// How often status is reported.
    public var statusInterval: Duration = .seconds(1)
    /// How long after the load stops the devnet waits for what was submitted to execute.
    public var drainTimeout: Duration = .seconds(20)
    /// Submission pauses while this many transfers are pending (submitted, not
    /// yet executed), and the time paused is not made up later; nil never pauses.
    /// Bounds the backlog when the offered rate is above what the devnet executes.
    public var maxPending: Int?
    /// The protocol rules; absent fields take the devnet's.
    public var rules = RulesConfiguration()

    /// Options for a devnet in `directory` whose validators run `executable`.
    public init(directory: String, executable: String) {
        self.directory = directory
        self.executable = executable
    }
}

/// What a devnet run did, and whether its validators agree.
public struct DevnetSummary: Codable, Sendable {
    /// One validator at the end of the run.
    public struct NodeSummary: Codable, Sendable {
        /// Its index in the devnet.
        public var index: Int
        /// Its node id.
        public var nodeID: String
        /// Its accepted height.
        public var acceptedHeight: UInt64
        /// Its executed height.
        public var executedHeight: UInt64
        /// Its state root at ``DevnetSummary/commonHeight``.
        public var stateRoot: String?
        /// Its store's data file size.
        public var storeBytes: UInt64
    }

    /// The validators.
    public var validators: Int
    /// Seconds the load ran.
    public var seconds: Double
    /// Transfers submitted.
    public var submitted: Int
    /// Transfers executed.
    public var executed: Int
    /// Transfers lost (their node died with them, or their chunk was never certified) and re-sent.
    public var lost: Int
    /// Transfers still pending when the run ended.
    public var pending: Int
    /// Executed transfers per second of load.
    public var executedPerSecond: Double
    /// Blocks ordered.
    public var blocks: Int
    /// Chunks certified, over all validators.
    public var certificates: UInt64
    /// Median latency from submission to execution, in milliseconds.
    public var p50Milliseconds: Double?
    /// 99th percentile latency, in milliseconds.
    public var p99Milliseconds: Double?
    /// The highest height every running validator has executed.
    public var commonHeight: UInt64
    /// Whether every validator's state root at ``commonHeight`` is the same.
    public var rootsAgree: Bool
    /// Each validator.
    public var nodes: [NodeSummary]
}
