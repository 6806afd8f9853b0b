import ArgumentParser
import ChunkStore
import DSMRNode
import Foundation

extension NodeCommand {
    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-execute a store's accepted blocks with this binary's state machine and compare each root.",
            discussion: """
                The same replay as `dsmr-store replay`, through this binary's state machine: state is \
                rebuilt from the store's first block and the genesis file given, in a temporary \
                directory; --from sets the first height compared. Exits 0 when every compared height \
                matches, 2 at the first mismatch (naming the height), 1 when a chunk or block it needs \
                is no longer held.
                With --snapshot, state starts from a snapshot file a validator keeps \
                (`snapshots/<height>.snapshot` beside its state) and blocks from its height on are \
                replayed, so a chain whose first blocks were pruned can still be checked.
                """)

        @Option(help: "The store's directory (opened read-only).")
        var store: String

        @Option(help: "The state machine's genesis file.")
        var genesis: String

        @Option(help: "The first height compared.")
        var from: UInt64 = 0

        @Option(help: "The last height replayed (default: the executed tip).")
        var to: UInt64?

        @Option(help: "A snapshot file to start from instead of genesis.")
        var snapshot: String?

        @Flag(help: "Print the result as JSON.")
        var json = false

        func run() async throws {
            let report: StoreReplay.Report
            do {
                let genesisBytes = Array(try Data(contentsOf: URL(fileURLWithPath: genesis)))
                let opened = try ChunkStore(adopting: store, readOnly: true)
                defer { opened.close() }
                report = try await StoreReplay.replay(
                    opened, provider: NodeCommandLine.provider, genesis: genesisBytes, from: from, to: to,
                    snapshot: try snapshot.map(SnapshotFile.read(from:)))
            } catch {
                printError("error: \(error)")
                throw ExitCode(1)
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(report.output), as: UTF8.self))
            } else if report.line.toError {
                printError(report.line.text)
            } else {
                print(report.line.text)
            }
            if report.exitStatus != 0 { throw ExitCode(report.exitStatus) }
        }
    }
}
