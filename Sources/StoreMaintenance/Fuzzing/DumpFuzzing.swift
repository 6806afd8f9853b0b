import ChunkStore
import DSMR
import LMDB

/// Entry points for the dump fuzz target under `Tools/fuzz`, which imports
/// them with `@_spi(Fuzzing) import StoreMaintenance`; not part of the API.
@_spi(Fuzzing) public enum DumpFuzzing {
    /// The rows of the store in `directory`, in dump order and form (table
    /// number, key length, key, value length, value), read straight from
    /// LMDB.
    public static func dumpRows(ofStoreAt directory: String) throws -> [UInt8] {
        let environment = try StoreEnvironment.open(directory, readOnly: true)
        defer { environment.close() }
        let tables = try Tables(environment)
        var rows: [UInt8] = []
        try environment.read { txn in
            for (number, table) in tables.all.enumerated() {
                try txn.scan(table) { entry in
                    rows.append(UInt8(number))
                    rows += StoreDump.lengthBytes(entry.key.count)
                    rows += entry.key
                    rows += StoreDump.lengthBytes(entry.value.count)
                    rows += entry.value
                    return .next
                }
            }
        }
        return rows
    }
}
