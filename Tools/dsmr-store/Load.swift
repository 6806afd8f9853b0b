import ArgumentParser
import ChunkStore
import StoreMaintenance
import Foundation

extension DSMRStore {
    struct Load: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Make a new store from a dump, read once; the store is kept only if every row and the checksum verify.")

        @Option(name: .shortAndLong, help: "The new store's directory (must not hold a store).")
        var store: String

        @Argument(help: "The dump file.")
        var file: String

        @Flag(help: "Print JSON instead of text.")
        var json = false

        func run() throws {
            let progress = TerminalProgress(json: json)
            let summary = try ChunkStore.load(dump: file, into: store, progress: progress.handler)
            progress.finish()
            if json { return try printJSON(summary) }
            print("loaded \(summary.rows.values.reduce(0, +)) rows from \(file) into \(store)")
        }
    }
}
