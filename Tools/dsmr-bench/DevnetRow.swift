/// Row 8: the devnet — 4 validators over TCP on loopback, 256-byte
/// transfers, durable stores: executed transactions per second (goal at
/// least 20,000), with p50 and p99 latency (submission to execution) under
/// "extra".
///
/// The devnet does not exist yet: until a `DevnetLoad` is passed in, the
/// table says "not available" and the JSON row has a null value. The devnet
/// plugs in by implementing `DevnetLoad`; the row does the arithmetic.
enum DevnetRow {
    /// What a devnet run reports: how many transactions executed, over how
    /// long, and each one's latency from submission to execution.
    struct Outcome {
        var executed: Int
        var seconds: Double
        var latencies: [Double]
    }

    /// Starts a devnet, drives `transactions` transfers of `size` bytes at it
    /// and reports what executed.
    typealias DevnetLoad = (_ transactions: Int, _ size: Int) async throws -> Outcome

    static let goal = 20_000.0

    static func run(load: DevnetLoad? = nil, transactions: Int = 200_000) async throws -> Row {
        guard let load else {
            var row = Row(.devnet, unit: "tx/s", value: nil)
            row.notes = ["not available: the devnet does not exist yet (goal: >= 20,000 tx/s)"]
            return row
        }
        let outcome = try await load(transactions, 256)
        let rate = Double(outcome.executed) / outcome.seconds
        var row = Row(.devnet, unit: "tx/s", value: rate)
        row.goals = [Goal(text: ">= 20,000 tx/s", met: rate >= goal)]
        let p50 = percentile(outcome.latencies, 0.50) * 1_000
        let p99 = percentile(outcome.latencies, 0.99) * 1_000
        row.notes = [
            "4 validators over TCP on loopback, 256-byte transfers; p50 \(pretty(p50)) ms, p99 \(pretty(p99)) ms"
        ]
        row.extra = [("p50_ms", p50), ("p99_ms", p99)]
        return row
    }

    /// The `fraction` percentile of `values` (nearest rank), or 0 for none.
    static func percentile(_ values: [Double], _ fraction: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = Int((fraction * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }
}
