import ArgumentParser
import ChunkStore
import Foundation

/// The options every command shares: which store, and how to print.
struct StoreOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "The store's directory.")
    var store: String

    @Flag(help: "Print JSON instead of text.")
    var json = false

    /// Opens the store, taking identity and rules from its meta.
    func open(readOnly: Bool) throws -> ChunkStore {
        try ChunkStore(adopting: store, readOnly: readOnly)
    }
}

/// Prints `value` as sorted, indented JSON on standard output.
func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// Prints to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Formats a byte count for people.
func formatBytes(_ bytes: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
}
