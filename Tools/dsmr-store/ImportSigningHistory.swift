import ArgumentParser
import ChunkStore
import StoreMaintenance

extension DSMRStore {
    struct ImportSigningHistory: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Merge a signing history into the store; protection is never weakened.",
            discussion: """
                A low_watermark beyond the later of the store's watermark and the clock plus maxBlockSkew \
                and one epoch, or a low_slot more than maxFutureSlots + 1 past that time's slot, is refused \
                unless --force is given: importing it would collect every row on the next collection.
                """)

        @OptionGroup var options: StoreOptions

        @Argument(help: "The history file (strict JSON, at most 64 MiB).")
        var file: String

        @Flag(help: "Import a low_watermark or low_slot beyond the plausible bound.")
        var force = false

        func run() async throws {
            let history = try SigningHistory(contentsOf: file)
            let store = try options.open(readOnly: false)
            defer { store.close() }
            let result = try await store.importSigningHistory(history, force: force)
            if options.json { return try printJSON(result) }
            print(
                "added \(result.added) signed slots; \(result.alreadyPresent) already present, \(result.keptExisting) kept as recorded, \(result.obsolete) obsolete; watermark \(result.watermark)"
            )
        }
    }
}
