import ArgumentParser
import ChunkStore

extension DSMRStore {
    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Counts and sizes per status and producer, ledger usage and page statistics.")

        @OptionGroup var options: StoreOptions

        func run() throws {
            let store = try options.open(readOnly: true)
            defer { store.close() }
            let stats = try store.statistics()
            if options.json { return try printJSON(stats) }
            print("store        \(options.store)")
            print("network      \(stats.networkID)  chain \(stats.chainID)")
            print("node         \(stats.nodeID)")
            print("watermark    \(chainTimeText(stats.watermark))")
            print(
                "accepted tip \(stats.acceptedHeight.map(String.init) ?? "none")  executed \(stats.executedHeight.map(String.init) ?? "none")"
            )
            print("pending      \(stats.pending.chunks) chunks, \(formatBytes(stats.pending.bytes))")
            print("accepted     \(stats.accepted.chunks) chunks, \(formatBytes(stats.accepted.bytes))")
            print(
                "map          \(formatBytes(stats.environment.mapSize)), \(formatBytes(stats.environment.usedBytes)) used"
            )
            print("")
            print(
                "producer                                  pending  accepted  latest window usage (limit \(stats.limitPerWindow))"
            )
            for producer in stats.producers {
                let usage = producer.latestUsage.map { "w\(producer.latestWindow ?? 0) \($0)" } ?? "-"
                print(
                    "\(producer.producer)  \(pad(producer.pending.chunks, 7))  \(pad(producer.accepted.chunks, 8))  \(usage)"
                )
            }
            print("")
            print("database          entries  depth  branch    leaf  overflow  bytes")
            for (name, table) in stats.tables.sorted(by: { $0.key < $1.key }) {
                print(
                    "\(name.padding(toLength: 16, withPad: " ", startingAt: 0))  \(pad(table.entries, 7))  \(pad(table.depth, 5))  \(pad(table.branchPages, 6))  \(pad(table.leafPages, 6))  \(pad(table.overflowPages, 8))  \(formatBytes(table.bytesUsed))"
                )
            }
        }
    }
}

func pad(_ value: some BinaryInteger, _ width: Int) -> String {
    let text = String(value)
    return String(repeating: " ", count: max(0, width - text.count)) + text
}
