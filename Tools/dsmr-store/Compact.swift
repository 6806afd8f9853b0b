import ArgumentParser
import ChunkStore

extension DSMRStore {
    struct Compact: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a compacted copy of the store to a new directory; the source is not touched.")

        @OptionGroup var options: StoreOptions

        @Option(name: .shortAndLong, help: "A new or empty directory, outside every store's directory.")
        var output: String

        func run() throws {
            let store = try options.open(readOnly: true)
            defer { store.close() }
            let before = try store.storageInfo().usedBytes
            try store.compact(to: output)
            let copy = try ChunkStore(adopting: output, readOnly: true)
            defer { copy.close() }
            let after = try copy.storageInfo().usedBytes
            if options.json { return try printJSON(["sourceBytes": before, "copyBytes": after]) }
            print("compacted \(formatBytes(before)) into \(formatBytes(after)) at \(output)")
        }
    }
}
