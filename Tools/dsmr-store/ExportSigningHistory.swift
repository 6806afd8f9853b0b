import ArgumentParser
import ChunkStore
import Foundation

extension DSMRStore {
    struct ExportSigningHistory: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the node's signing history (EIP-3076-style JSON) to a file or standard output.")

        @OptionGroup var options: StoreOptions

        @Option(name: .shortAndLong, help: "The file to write; standard output when absent.")
        var output: String?

        func run() throws {
            let store = try options.open(readOnly: true)
            defer { store.close() }
            let json = try store.exportSigningHistory().json()
            if let output {
                try Data(json).write(to: URL(fileURLWithPath: output), options: .atomic)
            } else {
                print(String(decoding: json, as: UTF8.self))
            }
        }
    }
}
