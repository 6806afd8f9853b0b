import DSMRNode
import DSMRNodeRuntime

/// How a ``Devnet`` runs.
package struct DevnetOptions: Sendable {
    /// The devnet's directory (keys, configurations, stores), reused on the next run.
    package var directory: String
    /// How many validators, each its own `dsmr-node run` process.
    package var validators = 4
    /// How long the load runs; nil runs until ``Devnet/stopLoad()``.
    package var duration: Duration? = .seconds(20)
    /// Transactions submitted per second.
    package var transactionRate = 500
    /// The node executable to start validators with (`dsmr-node`, or a
    /// chain's own binary built on `DSMRNodeCommands`): it must run
    /// ``provider``'s state machine.
    package var executable: String
    /// The state machine the validators run: it writes a new devnet's
    /// genesis and makes the load.
    package var provider: any StateMachineProvider
    /// How often the ordering driver asks for a block. Half a slot: a round
    /// costs only building, verifying and recording a block (validators
    /// answer before they execute it), and a certificate then waits for a
    /// block about a quarter of a slot on average.
    package var blockInterval: Duration = .milliseconds(125)
    /// How often status is reported.
    package var statusInterval: Duration = .seconds(1)
    /// How long after the load stops the devnet waits for what was submitted to execute.
    package var drainTimeout: Duration = .seconds(20)
    /// Submission pauses while this many transactions are pending (submitted, not
    /// yet executed), and the time paused is not made up later; nil never pauses.
    /// Bounds the backlog when the offered rate is above what the devnet executes.
    package var maxPending: Int?
    /// Validators run with another executable or environment, by index (the
    /// Byzantine tests run one validator as `dsmr-byzantine`).
    package var overrides: [Int: NodeOverride] = [:]
    /// The protocol rules; absent fields take the devnet's.
    package var rules = RulesConfiguration()
    /// How blocks are ordered: by the devnet's driver, or by the validators
    /// themselves through an etcd cluster the devnet starts.
    package var ordering = DevnetOrdering.driver
    /// How many etcd members the devnet starts for ``DevnetOrdering/etcd``.
    package var etcdMembers = 3
    /// Whether the etcd cluster is secured (TLS with client certificates,
    /// a user and role per validator); off only to compare.
    package var etcdSecured = true
    /// How the validators propose, rotate and take over through etcd;
    /// absent fields take the defaults.
    package var etcdOrdering: EtcdOrderingConfiguration?
    /// How many funded accounts a new devnet's genesis holds (the load's parties).
    package var accounts = 256
    /// Heights between the snapshots validators keep for state sync; the node's default when nil.
    package var snapshotInterval: UInt64?
    /// Where each validator runs, by index (one placement per validator):
    /// on its own address, its command run through the placement's prefix
    /// (a ``HostTestbed`` host's `ip netns exec`). Nil runs every validator
    /// here, each on its own 127.0.0.x.
    package var validatorHosts: [HostPlacement]?
    /// Where each etcd member runs, by index (one placement per member); nil runs them here on loopback.
    package var etcdHosts: [HostPlacement]?
    /// How long (ms) validators keep accepted chunks past their expiry
    /// (`acceptedRetention` in their configurations): the devnet keeps ten
    /// minutes, so a validator down for minutes still catches up from its
    /// peers; a test of the catch-up horizon sets less.
    package var acceptedRetention: Int64 = 600_000
    /// The `host:port` each validator's peers dial, by index, when that is
    /// not where it listens: a relay in front of it (the fault campaign's
    /// delaying relays). Nil has peers dial the listen address.
    package var peerAddresses: [String]?
    /// Whether the devnet restarts a validator whose process ended without
    /// being asked to (after 1 s, then twice as long each time it ends
    /// again within a minute of starting, at most 30 s), and takes back one started again by hand (its control socket
    /// answers). Off, a validator that died stays down until
    /// ``Devnet/startNode(_:)``.
    package var restartDied = true
    /// How many blocks below the highest executed height a validator may
    /// end a run at; one further behind (or down, or silent) is named in
    /// ``DevnetSummary/lagging`` and fails `dsmr-node devnet`.
    package var maxLagBlocks: UInt64 = 10

    /// Options for a devnet in `directory` whose validators run `executable`
    /// with `provider`'s state machine.
    package init(directory: String, executable: String, provider: any StateMachineProvider) {
        self.directory = directory
        self.executable = executable
        self.provider = provider
    }
}

/// Who orders a devnet's blocks.
package enum DevnetOrdering: String, Sendable, CaseIterable {
    /// The devnet's test driver asks validators to build and accept blocks.
    case driver
    /// The validators follow and propose to a log in the devnet's own etcd cluster.
    case etcd
}

/// How one validator of a devnet is started instead of the usual way.
package struct NodeOverride: Sendable {
    /// The executable (it takes `run --config FILE --exit-with-parent`).
    package var executable: String
    /// Variables added to its environment.
    package var environment: [String: String]

    /// An override from its parts.
    package init(executable: String, environment: [String: String] = [:]) {
        self.executable = executable
        self.environment = environment
    }
}

/// What a devnet run did, and whether its validators agree.
package struct DevnetSummary: Codable, Sendable {
    /// One validator at the end of the run.
    package struct NodeSummary: Codable, Sendable {
        /// Its index in the devnet.
        package var index: Int
        /// Its node id.
        package var nodeID: String
        /// Its accepted height.
        package var acceptedHeight: UInt64
        /// Its executed height.
        package var executedHeight: UInt64
        /// Its state root at ``DevnetSummary/commonHeight``.
        package var stateRoot: String?
        /// Its store's data file size.
        package var storeBytes: UInt64
        /// Chunks it built since its process started.
        package var chunksBuilt: UInt64
        /// Of those, chunks a quorum certified.
        package var chunksCertified: UInt64
        /// Its process's peak resident memory (`VmHWM`), while it runs.
        package var peakResidentBytes: UInt64?
        /// What happened this run to the transactions routed to it.
        package var routed: RoutedLoad
        /// Its health at the end ("healthy", or the condition and cause), nil when it did not answer.
        package var health: String?
        /// How many times the devnet restarted it after its process ended.
        package var restarts = 0
    }

    /// A validator that ended the run behind the others, down or silent.
    package struct Lagging: Codable, Sendable {
        /// Its index in the devnet.
        package var index: Int
        /// Its executed height (as last seen).
        package var executedHeight: UInt64
        /// How many blocks it is below the highest executed height.
        package var behind: UInt64
        /// Why, as far as the devnet knows: not running (with its exit
        /// status), stopped, silent, or its health.
        package var cause: String
    }

    /// The validators that ran to the end but are not healthy, with their health.
    package var unhealthy: [(index: Int, health: String)] {
        nodes.compactMap { node in
            guard let health = node.health, health != "healthy" else { return nil }
            return (node.index, health)
        }
    }

    /// What happened to the transactions the partition routed to one validator.
    package struct RoutedLoad: Codable, Sendable {
        /// Submitted to it.
        package var submitted: Int
        /// Executed.
        package var executed: Int
        /// Lost (it died with them, or never had them certified).
        package var lost: Int
        /// The longest latency from submission to execution since the generator started, in milliseconds.
        package var slowestMilliseconds: Double

        init(_ now: LoadGenerator.RoutedLoad?, since base: LoadGenerator.RoutedLoad?) {
            let now = now ?? .init()
            let base = base ?? .init()
            submitted = now.submitted - base.submitted
            executed = now.executed - base.executed
            lost = now.lost - base.lost
            slowestMilliseconds = now.slowest.milliseconds
        }
    }

    /// The validators.
    package var validators: Int
    /// Seconds the load ran.
    package var seconds: Double
    /// Transactions submitted.
    package var submitted: Int
    /// Transactions executed.
    package var executed: Int
    /// Transactions lost (their node died with them, or their chunk was never certified) and re-sent.
    package var lost: Int
    /// Transactions still pending when the run ended.
    package var pending: Int
    /// Executed transactions per second of load.
    package var executedPerSecond: Double
    /// Blocks ordered.
    package var blocks: Int
    /// Chunks certified, over all validators.
    package var certificates: UInt64
    /// Median latency from submission to execution, in milliseconds.
    package var p50Milliseconds: Double?
    /// 99th percentile latency, in milliseconds.
    package var p99Milliseconds: Double?
    /// The fastest transaction's latency, in milliseconds.
    package var fastestMilliseconds: Double? = nil
    /// The highest height every validator that kept up (not in
    /// ``lagging``) has executed: where their roots are compared.
    package var commonHeight: UInt64
    /// Whether the state roots agree: those of the validators that kept up
    /// at ``commonHeight``, and each lagging one's at its own height with a
    /// validator's that kept up (where that one still holds it).
    package var rootsAgree: Bool
    /// Validators more than ``DevnetOptions/maxLagBlocks`` behind at the
    /// end, down, or silent, each with its cause.
    package var lagging: [Lagging] = []
    /// Each validator.
    package var nodes: [NodeSummary]
    /// Set when the chain's time lagged the clock as the run began, so the
    /// load waited for it to catch up (see `Devnet.catchUpChainTime`).
    package var chainCatchUp: ChainCatchUp?

    /// How the chain's time caught up with the clock before the load.
    package struct ChainCatchUp: Codable, Sendable {
        /// How far the chain's time lagged the clock as the run began, in ms.
        package var lagMilliseconds: Int64
        /// Blocks ordered while the load waited.
        package var blocks: UInt64
        /// How long the load waited, in seconds.
        package var seconds: Double
        /// Whether the chain's time came close to the clock; false when the
        /// chain stood still (or the run was stopped) first.
        package var caughtUp: Bool

        /// The summary's line about it.
        package var line: String {
            let lag = "the chain's time lagged the clock by \(chainLagText(milliseconds: lagMilliseconds))"
            let spent = String(format: "%llu blocks in %.1f s", blocks, seconds)
            return caughtUp
                ? "\(lag); the load began once \(spent) had caught it up (a block moves it by at most maxBlockSkew)"
                : "\(lag) and had not caught up after \(spent) when the load began: transfers are lost until it does "
                    + "(--reset starts a new chain)"
        }
    }
}
