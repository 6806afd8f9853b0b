import ChunkStore
import DSMR
import Foundation

extension StoreReplay {
    /// Replays `store` through a fresh state machine that `provider` opens
    /// from `genesis` in a scratch directory (removed afterwards), in the
    /// store's signing domain and rules.
    ///
    /// - Throws: the state machine's open errors (a genesis it cannot read);
    ///   ``run(from:to:)``'s errors.
    package static func replay(
        _ store: ChunkStore, provider: any StateMachineProvider, genesis: [UInt8], from: UInt64 = 0, to: UInt64? = nil,
        snapshot: SnapshotFile? = nil
    ) async throws -> Report {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("dsmr-replay-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let machine = try provider.open(
            StateMachineContext(
                directory: scratch, genesis: genesis, domain: store.configuration.domain,
                rules: store.configuration.rules))
        defer { machine.close() }
        var start: (height: UInt64, root: StateRoot)?
        if let snapshot {
            let importing = try machine.beginImport(snapshot.manifest)
            for piece in snapshot.pieces { try importing.add(piece) }
            let installed = try importing.finish()
            start = (installed.height, installed.root)
        }
        return try await StoreReplay(store: store, assembler: machine).run(from: from, to: to, start: start)
    }
}

extension StoreReplay.Report {
    /// A replay's result as the tools print it with `--json`.
    package struct Output: Encodable, Sendable {
        /// How many heights matched.
        package var matched: Int
        /// The first and last of them.
        package var firstMatched: UInt64?
        /// The last height matched.
        package var lastMatched: UInt64?
        /// `matched`, `mismatch`, `chunkMissing` or `blocksPruned`.
        package var result: String
        /// The height it stopped at, if it stopped early.
        package var height: UInt64?
        /// The root recorded there, for a mismatch.
        package var recorded: String?
        /// The root computed there, for a mismatch.
        package var computed: String?
        /// Why it could not go on, for a missing chunk or pruned blocks.
        package var detail: String?
    }

    /// The JSON output.
    package var output: Output {
        var output = Output(
            matched: matched.count, firstMatched: matched.first, lastMatched: matched.last, result: "matched")
        switch outcome {
        case .matched:
            break
        case .mismatch(let height, let recorded, let computed):
            output.result = "mismatch"
            output.height = height
            output.recorded = recorded?.hex
            output.computed = computed.hex
        case .chunkMissing(let height, let reason):
            output.result = "chunkMissing"
            output.height = height
            output.detail = reason
        case .blocksPruned(let height, let reason):
            output.result = "blocksPruned"
            output.height = height
            output.detail = reason
        }
        return output
    }

    /// The exit status: 0 when every compared height matched, 2 at a
    /// mismatch, 1 when a chunk or block it needs is no longer held.
    package var exitStatus: Int32 {
        switch outcome {
        case .matched: 0
        case .mismatch: 2
        case .chunkMissing, .blocksPruned: 1
        }
    }

    /// The line printed: on standard output for a match or mismatch (`toError` false), else on standard error.
    package var line: (text: String, toError: Bool) {
        let range = matched.first.map { "heights \($0)...\(matched.last!)" } ?? "no height"
        switch outcome {
        case .matched:
            return ("OK: \(matched.count) heights match (\(range))", false)
        case .mismatch(let height, let recorded, let computed):
            return (
                "MISMATCH at height \(height): recorded \(recorded?.hex ?? "no root"), computed \(computed.hex)", false
            )
        case .chunkMissing(let height, let reason):
            return ("cannot replay height \(height): \(reason)", true)
        case .blocksPruned(_, let reason):
            return ("cannot replay: \(reason)", true)
        }
    }
}
