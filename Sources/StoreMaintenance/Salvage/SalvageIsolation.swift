import ChunkStore
/// Where salvage reads a damaged store's tables.
public enum SalvageIsolation: Sendable, Hashable {
    /// In this process. LMDB aborts the process on some damaged pages (an
    /// assertion in its cursor code), so use this only where that is
    /// acceptable.
    case inProcess
    /// In child processes: `executable` run with `arguments` followed by
    /// `--store PATH --table NAME [--after HEX] [--before HEX] [--reverse]`, which must call
    /// `ChunkStore.streamTableRows(arguments:)` and exit. A child that dies
    /// by a signal ends its pass like a read error: the table's other rows
    /// are read by another child from the other end, and the next table by a
    /// new one. A child that hands over no row for `watchdogSeconds` is
    /// killed and its pass ends the same way. `dsmr-store` serves as its own
    /// child (`read-table`).
    case childProcess(executable: String, arguments: [String], watchdogSeconds: Double = 60)
}
