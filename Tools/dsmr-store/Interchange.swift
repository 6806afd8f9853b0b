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

    struct ImportSigningHistory: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Merge a signing history into the store; protection is never weakened.")

        @OptionGroup var options: StoreOptions

        @Argument(help: "The history file.")
        var file: String

        func run() async throws {
            let history = try SigningHistory(json: Array(try Data(contentsOf: URL(fileURLWithPath: file))))
            let store = try options.open(readOnly: false)
            defer { store.close() }
            let result = try await store.importSigningHistory(history)
            if options.json { return try printJSON(result) }
            print("added \(result.added) signed slots; \(result.alreadyPresent) already present, \(result.keptExisting) kept as recorded, \(result.obsolete) obsolete; watermark \(result.watermark)")
        }
    }

    struct Dump: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write the whole store, as one snapshot, to a file.")

        @OptionGroup var options: StoreOptions

        @Option(name: .shortAndLong, help: "The dump file.")
        var output: String

        func run() throws {
            let store = try options.open(readOnly: true)
            defer { store.close() }
            let progress = TerminalProgress(json: options.json)
            let summary = try store.dump(to: output, progress: progress.handler)
            progress.finish()
            if options.json { return try printJSON(summary) }
            print("wrote \(summary.rows.values.reduce(0, +)) rows, \(formatBytes(summary.bytes)), to \(output)")
        }
    }

    struct Load: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a new store from a dump; the file is verified before anything is written.")

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
