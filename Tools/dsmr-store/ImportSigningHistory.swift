import ArgumentParser
import ChunkStore

extension DSMRStore {
    struct ImportSigningHistory: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Merge a signing history into the store; protection is never weakened.")

        @OptionGroup var options: StoreOptions

        @Argument(help: "The history file (strict JSON, at most 64 MiB).")
        var file: String

        func run() async throws {
            let history = try SigningHistory(contentsOf: file)
            let store = try options.open(readOnly: false)
            defer { store.close() }
            let result = try await store.importSigningHistory(history)
            if options.json { return try printJSON(result) }
            print(
                "added \(result.added) signed slots; \(result.alreadyPresent) already present, \(result.keptExisting) kept as recorded, \(result.obsolete) obsolete; watermark \(result.watermark)"
            )
        }
    }
}
