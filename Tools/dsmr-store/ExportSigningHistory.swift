import ArgumentParser
import ChunkStore
import StoreMaintenance
import Foundation

extension DSMRStore {
    struct ExportSigningHistory: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the node's signing history (EIP-3076-style JSON) to a file or standard output.")

        @OptionGroup var options: StoreOptions

        @Option(
            name: .shortAndLong,
            help: "The file to write (mode 0600; never inside a store's directory); standard output when absent.")
        var output: String?

        @Flag(help: "Replace the output file if it exists.")
        var force = false

        func run() throws {
            let store = try options.open(readOnly: true)
            defer { store.close() }
            if let output {
                try store.exportSigningHistory(to: output, replacing: force)
            } else {
                print(String(decoding: try store.exportSigningHistory().json(), as: UTF8.self))
            }
        }
    }
}
