import ArgumentParser
import ChunkStore
import StoreMaintenance

extension DSMRStore {
    struct Compact: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compact a stopped node's store into a new directory, or in place.",
            discussion: """
                Refuses while a node holds the store's writer lock: a copy taken beside a live node \
                would lack what it signs afterwards. With -o the source is not touched; with \
                --in-place the compacted copy replaces data.mdb by an atomic rename, and any other process \
                that has the store open (reading or not) is refused by pid, since it would go on reading \
                the replaced file.
                """)

        @OptionGroup var options: StoreOptions

        @Option(name: .shortAndLong, help: "A new or empty directory, outside every store's directory.")
        var output: String?

        @Flag(help: "Replace the store's data file with its compacted copy (the node must be stopped).")
        var inPlace = false

        func validate() throws {
            guard (output != nil) != inPlace else {
                throw ValidationError("give exactly one of --output and --in-place")
            }
        }

        func run() throws {
            if inPlace {
                let result = try ChunkStore.compactInPlace(at: options.store)
                if options.json { return try printJSON(result) }
                print("compacted \(formatBytes(result.bytesBefore)) into \(formatBytes(result.bytesAfter)) in place")
                return
            }
            guard let output else { return }
            // Writable only to hold the writer lock while the copy is made.
            let store = try options.open(readOnly: false)
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
