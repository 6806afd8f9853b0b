import ArgumentParser
import ChunkStore
import Foundation

extension DSMRStore {
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
}
