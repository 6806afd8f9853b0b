import ChunkStore
import DSMR

/// A chain's state machine, as the runtime, the devnet and replay drive it:
/// genesis, execution that reports which transactions applied, admission of
/// submitted transactions, reads for clients, and snapshots.
///
/// The node core needs only ``Assembler`` (execution); everything else here
/// is what a process around the core asks of the state machine. DemoVM is
/// one conformer; a chain brings its own through a ``StateMachineProvider``.
///
/// Execution must be deterministic: every validator given the same parent
/// root, height, timestamp and transactions reaches the same root.
public protocol StateMachine: Assembler {
    /// Decodes and pre-checks a submitted transaction, as of `now` (ms since
    /// 1970), and returns what the mempool keeps: its canonical bytes, the
    /// sponsor it is routed by, its expiry and its units.
    ///
    /// Pre-checks are what can be judged without the state (a strict
    /// decoding, bounds, an expiry not passed, a signature where the state
    /// machine chooses to check it here); execution still skips a
    /// transaction that turns out invalid.
    ///
    /// - Throws: ``AdmissionError`` naming why the bytes are refused.
    func admit(_ bytes: [UInt8], now: Int64, limits: DecodingLimits) throws(AdmissionError) -> PendingTransaction

    /// Executes like ``Assembler/execute(parentRoot:parent:timestamp:height:transactions:)``
    /// and also reports which transactions applied.
    func executeReporting(
        parentRoot: StateRoot, parent: Block, timestamp: Int64, height: UInt64, transactions: [[UInt8]]
    ) async throws -> ExecutionReport

    /// The last executed height and its root; nil before the first block.
    func executedState() throws -> ExecutedState?

    /// Answers a client's read of the executed state. The request's and
    /// answer's formats are the state machine's own (DemoVM: account
    /// nonces); the runtime carries them as opaque bytes.
    ///
    /// - Throws: ``StateMachineError`` for a request it cannot decode or answer.
    func query(_ request: [UInt8]) throws -> [UInt8]

    /// A snapshot of the state at `height`, served in pieces.
    ///
    /// - Throws: ``StateMachineError/heightUnavailable(requested:executed:)``
    ///   when the state cannot be read at `height` (a state machine may keep
    ///   only its latest state).
    func snapshot(at height: UInt64) throws -> any StateSnapshot

    /// Starts replacing the whole state with the snapshot `manifest`
    /// describes. Nothing changes until ``SnapshotImport/finish()`` succeeds.
    func beginImport(_ manifest: SnapshotManifest) throws -> any SnapshotImport

    /// Bytes the state takes on disk, for status and metrics.
    func diskBytes() -> UInt64

    /// Releases the state's files; nothing may be asked afterwards.
    func close()
}

extension StateMachine {
    /// Executes through ``executeReporting(parentRoot:parent:timestamp:height:transactions:)``.
    public func execute(
        parentRoot: StateRoot, parent: Block, timestamp: Int64, height: UInt64, transactions: [[UInt8]]
    ) async throws -> StateRoot {
        try await executeReporting(
            parentRoot: parentRoot, parent: parent, timestamp: timestamp, height: height, transactions: transactions
        ).root
    }
}

/// What executing one block did.
public struct ExecutionReport: Hashable, Sendable {
    /// The state root after the block.
    public var root: StateRoot
    /// For each transaction, in order, whether it applied (an invalid one is
    /// skipped); nil when the height had been executed already and nothing ran.
    public var applied: [Bool]?

    /// A report from its parts.
    public init(root: StateRoot, applied: [Bool]?) {
        self.root = root
        self.applied = applied
    }
}

/// A state machine's executed height and the root it left.
public struct ExecutedState: Hashable, Sendable {
    /// The last executed height.
    public var height: UInt64
    /// The state root at it.
    public var root: StateRoot

    /// An executed state from its parts.
    public init(height: UInt64, root: StateRoot) {
        self.height = height
        self.root = root
    }
}

/// Why a submitted transaction was not taken into the mempool.
public enum AdmissionError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The bytes are not a canonical encoding of a transaction.
    case malformed(String)
    /// Its expiry (ms) is before `now`.
    case expired(expiry: Int64, now: Int64)
    /// Decoded, but refused by a pre-check (a bad signature, a bound).
    case invalid(String)

    public var description: String {
        switch self {
        case .malformed(let detail): "malformed transaction: \(detail)"
        case .expired(let expiry, let now): "transaction expired at \(expiry) ms (now \(now) ms)"
        case .invalid(let detail): "invalid transaction: \(detail)"
        }
    }
}

/// A state machine could not do what it was asked.
public enum StateMachineError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The state is not readable at the height asked; `executed` is where it is.
    case heightUnavailable(requested: UInt64, executed: UInt64?)
    /// A query the state machine cannot decode or answer.
    case badQuery(String)
    /// A genesis file the state machine cannot read.
    case badGenesis(String)
    /// A snapshot piece or manifest that does not fit the snapshot being imported.
    case badSnapshot(String)
    /// The state's own storage is damaged or refused an operation.
    case state(String)

    public var description: String {
        switch self {
        case .heightUnavailable(let requested, let executed):
            "the state cannot be read at height \(requested); it is at \(executed.map { "\($0)" } ?? "genesis")"
        case .badQuery(let detail): "bad query: \(detail)"
        case .badGenesis(let detail): "bad genesis: \(detail)"
        case .badSnapshot(let detail): "bad snapshot: \(detail)"
        case .state(let detail): "state: \(detail)"
        }
    }
}
