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
                it needs is no longer held (naming the retention that dropped it).
                """)

        @OptionGroup var options: StoreOptions

        @Option(help: "The genesis balances, as DemoVM genesis JSON.")
        var genesis: String

        @Option(help: "The first height compared.")
        var from: UInt64 = 0

        @Option(help: "The last height replayed (default: the executed tip).")
        var to: UInt64?

        struct Output: Encodable {
            var matched: Int
            var firstMatched: UInt64?
            var lastMatched: UInt64?
            var result: String
            var height: UInt64?
            var recorded: String?
            var computed: String?
            var detail: String?
        }

        func run() async throws {
            let allocations = try JSONDecoder().decode(
                DemoGenesis.self, from: Data(contentsOf: URL(fileURLWithPath: genesis))
            ).allocations()
            let store = try options.open(readOnly: true)
            defer { store.close() }
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("dsmr-replay-\(UUID())").path
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            let vm = try DemoVM(path: scratch, domain: store.configuration.domain, genesis: allocations)
            defer { vm.close() }
            let report = try await StoreReplay(store: store, assembler: vm).run(from: from, to: to)
            var output = Output(
                matched: report.matched.count, firstMatched: report.matched.first, lastMatched: report.matched.last,
                result: "matched")
            var status: Int32 = 0
            switch report.outcome {
            case .matched:
                break
            case .mismatch(let height, let recorded, let computed):
                output.result = "mismatch"
                output.height = height
                output.recorded = recorded?.hex
                output.computed = computed.hex
                status = 2
            case .chunkMissing(let height, let reason):
                output.result = "chunkMissing"
                output.height = height
                output.detail = reason
                status = 1
            case .blocksPruned(let height, let reason):
                output.result = "blocksPruned"
                output.height = height
                output.detail = reason
                status = 1
            }
            if options.json {
                try printJSON(output)
            } else {
                let range = report.matched.first.map { "heights \($0)...\(report.matched.last!)" } ?? "no height"
                switch report.outcome {
                case .matched:
                    print("OK: \(report.matched.count) heights match (\(range))")
                case .mismatch(let height, let recorded, let computed):
                    print(
                        "MISMATCH at height \(height): recorded \(recorded?.hex ?? "no root"), computed \(computed.hex)"
                    )
                case .chunkMissing(let height, let reason):
                    printError("cannot replay height \(height): \(reason)")
                case .blocksPruned(_, let reason):
                    printError("cannot replay: \(reason)")
                }
            }
            if status != 0 { throw ExitCode(status) }
        }
    }
}
