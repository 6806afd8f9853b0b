import DSMR
import DSMRNode
import Foundation
import Synchronization

/// A key-value state machine for tests: ``KeyValueWrite``s set keys to
/// values, each writer's writes applied in sequence, on storage of its own.
///
/// The state is held in memory and made durable after every block by
/// writing it whole to `state.kv` in its directory (a temporary file,
/// flushed, renamed over the old one, the directory flushed), so after a
/// crash the state is that of some executed height, with its root. The
/// file has a strict versioned format ending in a SHA-256 of its contents
/// (see `KeyValueStateFile.swift`); a damaged one is refused, as a
/// ``KeyValueMachineError``, when the machine opens.
///
/// The state root is the SHA-256 of
/// `"kv-root-v2" || entry count (u32) || for each key in bytewise order: key
/// length (u16) || key || value length (u16) || value || writer count (u32)
/// || for each writer in bytewise order: writer (32) || next sequence
/// (u64)`, integers big-endian, a writer being listed once a write of its
/// has applied.
///
/// It shows what a ``StateMachine`` needs without LMDB; only the latest
/// state is kept, and a block costs time linear in the whole state.
public final class KeyValueMachine: StateMachine, Sendable {
    /// The name of the state file in the machine's directory.
    public static let stateFileName = "state.kv"

    /// The state's directory.
    public let directory: String
    /// The state file's path.
    public var statePath: String { directory + "/" + Self.stateFileName }
    let file: Mutex<KeyValueStateFile>

    /// Opens the state in `directory` (created if missing). A new state
    /// starts from `genesis` and is written before this returns; an
    /// existing one keeps its own state and ignores it.
    ///
    /// - Throws: ``StateMachineError/badGenesis(_:)`` for a genesis out of
    ///   bounds; ``KeyValueMachineError`` of code `damagedState` for a
    ///   damaged state file (left as it is), `io` when the files cannot be
    ///   read or written.
    public init(directory: String, genesis: KeyValueGenesis) throws {
        let entries = try genesis.byteEntries()
        self.directory = directory
        try StateFiles.makeDirectory(directory)
        let path = directory + "/" + Self.stateFileName
        if let bytes = try StateFiles.read(path) {
            file = Mutex(try KeyValueStateFile(decoding: bytes, path: path))
        } else {
            let fresh = KeyValueStateFile(genesis: KeyValueState(entries: entries))
            try StateFiles.replace(path, with: fresh.encoded())
            file = Mutex(fresh)
        }
    }

    /// Nothing to release: every block's state is durable when it returns.
    public func close() {}

    public func genesisRoot() throws -> StateRoot { file.withLock { $0.genesisRoot } }

    public func executedState() throws -> ExecutedState? { file.withLock { $0.executed } }

    /// The value of `key` in the executed state; nil when it is not set.
    public func value(forKey key: [UInt8]) -> [UInt8]? { file.withLock { $0.state.entries[key] } }

    /// The sequence `writer`'s next write must carry (0 for a writer that never wrote).
    public func nextSequence(of writer: [UInt8]) -> UInt64 { file.withLock { $0.state.nextSequence(of: writer) } }

    /// Executes a block's writes in order, skipping those that do not apply,
    /// and returns once the new state is durable.
    ///
    /// Asked for the height it executed last, it returns that height's root
    /// and nil for `applied`, executing nothing. Otherwise `height` must be
    /// the next one (any height for the first block) and `parentRoot` the
    /// state's root.
    ///
    /// - Throws: ``KeyValueMachineError`` of code `wrongHeight` or
    ///   `wrongParentRoot`, or `io` when the state cannot be written (the
    ///   state is then unchanged).
    /// How long each block waits before it executes: milliseconds from
    /// `DSMR_TEST_EXECUTION_DELAY_MS` (tests of a slow state machine), none
    /// when unset.
    static let executionDelay: Duration? = ProcessInfo.processInfo.environment["DSMR_TEST_EXECUTION_DELAY_MS"]
        .flatMap { Int($0) }.map { .milliseconds($0) }

    public func executeReporting(
        parentRoot: StateRoot, parent: Block, timestamp: Int64, height: UInt64, transactions: [[UInt8]]
    ) async throws -> ExecutionReport {
        if let delay = Self.executionDelay { try? await Task.sleep(for: delay) }
        let path = statePath
        return try file.withLock { file throws(KeyValueMachineError) -> ExecutionReport in
            if let last = file.executed?.height {
                if last == height { return ExecutionReport(root: file.currentRoot, applied: nil) }
                guard last < .max, height == last + 1 else {
                    throw KeyValueMachineError(
                        .wrongHeight, "asked to execute height \(height); the state is at \(last)")
                }
            }
            guard parentRoot == file.currentRoot else {
                throw KeyValueMachineError(
                    .wrongParentRoot, "parent state root \(parentRoot) is not the state's root \(file.currentRoot)")
            }
            var next = file
            let applied = transactions.map { next.state.apply($0, at: timestamp) }
            let root = next.state.root()
            next.executed = ExecutedState(height: height, root: root)
            try StateFiles.replace(path, with: next.encoded())
            file = next
            return ExecutionReport(root: root, applied: applied)
        }
    }

    /// Replaces the state with `state` at `executed`, durably; used by a finished snapshot import.
    func install(_ state: KeyValueState, at executed: ExecutedState) throws(KeyValueMachineError) {
        let path = statePath
        try file.withLock { file throws(KeyValueMachineError) in
            var next = file
            next.state = state
            next.executed = executed
            try StateFiles.replace(path, with: next.encoded())
            file = next
        }
    }
}
