/// What a campaign survived, by fault: printed as the README's table.
struct CampaignTally {
    struct Row {
        var rounds = 0
        var faultSeconds = 0.0
        var submitted = 0
        var executed = 0
        var lost = 0
        var restarts = 0
        var replacedStores = 0
        var comebacks: [Double] = []
    }

    var rows: [CampaignFault: Row] = [:]
    var blocks: UInt64 = 0

    mutating func record(
        _ round: CampaignRound, faultSeconds: Double, summary: (submitted: Int, executed: Int, lost: Int),
        restarts: Int, replacedStores: Int, comeback: Double
    ) {
        var row = rows[round.fault, default: Row()]
        row.rounds += 1
        row.faultSeconds += faultSeconds
        row.submitted += summary.submitted
        row.executed += summary.executed
        row.lost += summary.lost
        row.restarts += restarts
        row.replacedStores += replacedStores
        row.comebacks.append(comeback)
        rows[round.fault] = row
    }

    /// A Markdown table: one row per fault, then the totals.
    func table(seed: UInt64) -> String {
        var lines = [
            "| fault | rounds | fault time | transfers submitted | executed | reported lost | restarts | stores replaced | back in step (median / worst) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        var total = Row()
        for fault in CampaignFault.allCases {
            guard let row = rows[fault] else { continue }
            lines.append(line(fault.rawValue, row))
            total.rounds += row.rounds
            total.faultSeconds += row.faultSeconds
            total.submitted += row.submitted
            total.executed += row.executed
            total.lost += row.lost
            total.restarts += row.restarts
            total.replacedStores += row.replacedStores
            total.comebacks += row.comebacks
        }
        lines.append(line("**all** (seed \(seed), \(blocks) blocks)", total))
        return lines.joined(separator: "\n")
    }

    private func line(_ name: String, _ row: Row) -> String {
        let sorted = row.comebacks.sorted()
        let median = sorted.isEmpty ? 0 : sorted[sorted.count / 2]
        let worst = sorted.last ?? 0
        return "| \(name) | \(row.rounds) | \(seconds(row.faultSeconds)) | \(row.submitted) | \(row.executed) | "
            + "\(row.lost) | \(row.restarts) | \(row.replacedStores) | \(seconds(median)) / \(seconds(worst)) |"
    }

    private func seconds(_ value: Double) -> String {
        value >= 60
            ? "\(Int(value / 60)) min \(Int(value.truncatingRemainder(dividingBy: 60))) s"
            : "\((value * 10).rounded() / 10) s"
    }
}
