import DSMR

/// Where a state machine's state lives and what it starts from.
public struct StateMachineContext: Sendable {
    /// The state's directory (created if missing).
    public var directory: String
    /// The genesis file's bytes, in the state machine's format. A new state
    /// starts from it; an existing state keeps its own.
    public var genesis: [UInt8]
    /// The chain's signing domain (transactions signed for another chain are invalid).
    public var domain: SigningDomain
    /// The chain's protocol rules.
    public var rules: Rules

    /// A context from its parts.
    public init(directory: String, genesis: [UInt8], domain: SigningDomain, rules: Rules) {
        self.directory = directory
        self.genesis = genesis
        self.domain = domain
        self.rules = rules
    }
}

/// What a chain plugs into the runtime, the devnet and replay: how to open
/// its state machine, and, for a devnet, a genesis and a load to run on it.
///
/// `dsmr-node` and `dsmr-store replay` use DemoVM's provider; a chain builds
/// its own binary with its provider (see the `DSMRNodeCommands` module).
public protocol StateMachineProvider: Sendable {
    /// A short name for logs and help ("demo").
    var name: String { get }

    /// Opens the state in `context`'s directory, creating it from the
    /// genesis when it does not exist.
    ///
    /// - Throws: ``StateMachineError/badGenesis(_:)`` for a genesis it
    ///   cannot read; the state's own open errors.
    func open(_ context: StateMachineContext) throws -> any StateMachine

    /// A genesis for a new devnet, funding what the load needs: the load's
    /// parties derive from `seed`, and there are `parties` of them.
    func devnetGenesis(seed: [UInt8], parties: Int) throws -> [UInt8]

    /// The load for a devnet started from ``devnetGenesis(seed:parties:)``
    /// with the same seed and parties.
    ///
    /// - Parameters:
    ///   - seed: the seed the genesis was made from.
    ///   - parties: how many parties the genesis funded.
    ///   - domain: the signing domain the transactions are signed in.
    ///   - lifetime: how long (ms) each transaction stays valid after it is made.
    func loadSource(
        seed: [UInt8], parties: Int, domain: SigningDomain, lifetime: Int64
    ) throws
        -> any TransactionSource
}
