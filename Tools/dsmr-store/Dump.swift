import ArgumentParser
import ChunkStore
import StoreMaintenance
import Foundation

extension DSMRStore {
    struct Dump: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write the whole store, as one snapshot, to a file.")

        @OptionGroup var options: StoreOptions

        @Option(name: .shortAndLong, help: "The dump file (mode 0600; never inside a store's directory).")
        var output: String

        @Flag(help: "Replace the output file if it exists.")
        var force = false

        func run() throws {
            let store = try options.open(readOnly: true)
            defer { store.close() }
            let progress = TerminalProgress(json: options.json)
            let summary = try store.dump(to: output, replacing: force, progress: progress.handler)
            progress.finish()
            if options.json { return try printJSON(summary) }
            print("wrote \(summary.rows.values.reduce(0, +)) rows, \(formatBytes(summary.bytes)), to \(output)")
        }
    }
}
