import ArgumentParser
import ChunkStore
import DSMR
import DSMRNode
import DemoVM
import Foundation

extension DSMRStore {
    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-execute the accepted blocks with DemoVM and compare each height's state root.",
            discussion: """
                State is rebuilt from the store's first block with the genesis balances given, in a \
                temporary directory; --from sets the first height compared. Exits 0 when every \
                compared height matches, 2 at the first mismatch (naming the height), 1 when a chunk \
                it needs is no longer held (naming the retention that dropped it). A chain running \
                its own state machine has the same command in its node binary (`replay`). \
                With --snapshot, state starts from a snapshot file a validator keeps \
                (`snapshots/<height>.snapshot` beside its state) and blocks from its height on are \
                replayed, so a chain whose first blocks were pruned can still be checked.
                """)

        @OptionGroup var options: StoreOptions

        @Option(help: "The genesis balances, as DemoVM genesis JSON.")
        var genesis: String

        @Option(help: "The first height compared.")
        var from: UInt64 = 0

        @Option(help: "The last height replayed (default: the executed tip).")
        var to: UInt64?

        @Option(help: "A DemoVM snapshot file to start from instead of genesis.")
        var snapshot: String?

        func run() async throws {
            let genesisBytes = Array(try Data(contentsOf: URL(fileURLWithPath: genesis)))
            let store = try options.open(readOnly: true)
            defer { store.close() }
            let report = try await StoreReplay.replay(
                store, provider: DemoProvider(), genesis: genesisBytes, from: from, to: to,
                snapshot: try snapshot.map(SnapshotFile.read(from:)))
            if options.json {
                try printJSON(report.output)
            } else if report.line.toError {
                printError(report.line.text)
            } else {
                print(report.line.text)
            }
            if report.exitStatus != 0 { throw ExitCode(report.exitStatus) }
        }
    }
}
