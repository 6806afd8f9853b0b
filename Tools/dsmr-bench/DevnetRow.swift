/// Row 8: the devnet — 4 validators over TCP on loopback, 256-byte
/// transfers, durable stores: executed transactions per second (goal at
/// least 20,000), with p50 and p99 latency under "extra".
///
/// The devnet does not exist yet. The row keeps its place: the table says
/// "not available" and the JSON row has a null value. When `dsmr-node
/// devnet` exists, measure it here and fill `value` (tx/s) and `extra`
/// (`p50_ms`, `p99_ms`).
enum DevnetRow {
    static func run() -> Row {
        var row = Row(.devnet, unit: "tx/s", value: nil)
        row.notes = ["not available: the devnet does not exist yet (goal: >= 20,000 tx/s)"]
        return row
    }
}
