/// The rows, in their fixed order. Names never change, so results can be
/// compared over time.
enum RowName: String, CaseIterable, Sendable {
    case sign1 = "sign-1"
    case sign64 = "sign-64"
    case read = "read"
    case certsGather = "certs-gather"
    case gcSmall = "gc-small"
    case gcLarge = "gc-large"
    case open1m = "open-1m"
    case certVerify1 = "cert-verify-1"
    case certVerifyAll = "cert-verify-all"
    case certVerifyCached = "cert-verify-cached"
    case nodeInProcess = "node-inprocess"
    case devnet = "devnet"
    case devnetPlaintext = "devnet-plaintext"
    case devnetEtcd = "devnet-etcd"
    case byzantineAnswerOthers = "byzantine-answer-others"
    case byzantineWithhold = "byzantine-withhold"
    case byzantineInvalidSignatures = "byzantine-invalid-signatures"
    case byzantineFarFuture = "byzantine-far-future"
    case byzantineFlood = "byzantine-flood"
    case byzantineEquivocate = "byzantine-equivocate"

    /// The `DSMR_BYZANTINE` behaviour of a `byzantine-*` row.
    var byzantineBehaviour: String? {
        rawValue.hasPrefix("byzantine-") ? String(rawValue.dropFirst("byzantine-".count)) : nil
    }
}

/// One goal of a row and whether this run met it.
struct Goal {
    let text: String
    let met: Bool
}

/// One line of the result: `value` measured through the store, `baseline`
/// the same work done another way (raw LMDB where there is such a figure),
/// `ratio` = value / baseline; where a row has one, `limit` is the most this
/// machine could do of the whole operation (the sign rows: raw LMDB and the
/// signature work together), `limitRatio` = value / limit.
struct Row {
    let name: RowName
    var unit: String
    var value: Double?
    var baseline: Double?
    /// What `baseline` is, for the table.
    var baselineLabel: String = ""
    /// The physical limit of the row's operation, where the row has one.
    var limit: Double?
    /// What `limit` is, for the table.
    var limitLabel: String = ""
    var goals: [Goal] = []
    var notes: [String] = []
    /// Further figures, also written to the JSON row under "extra".
    var extra: [(key: String, value: Double)] = []

    init(_ name: RowName, unit: String, value: Double?, baseline: Double? = nil, baselineLabel: String = "") {
        self.name = name
        self.unit = unit
        self.value = value
        self.baseline = baseline
        self.baselineLabel = baselineLabel
    }

    var ratio: Double? {
        guard let value, let baseline, baseline > 0 else { return nil }
        return value / baseline
    }

    var limitRatio: Double? {
        guard let value, let limit, limit > 0 else { return nil }
        return value / limit
    }
}

/// Formats for people: about three significant digits, no exponent.
func pretty(_ value: Double) -> String {
    let magnitude = abs(value)
    let decimals = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3
    return fixed(value, decimals: decimals)
}

/// `value` with exactly `decimals` decimals.
func fixed(_ value: Double, decimals: Int) -> String {
    guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    guard scaled < 9e15 else { return "\(value)" }
    let whole = Int(scaled) / Int(scale)
    let fraction = Int(scaled) % Int(scale)
    var text = (value < 0 && scaled > 0 ? "-" : "") + groupThousands(whole)
    if decimals > 0 {
        let digits = String(fraction)
        text += "." + String(repeating: "0", count: decimals - digits.count) + digits
    }
    return text
}

private func groupThousands(_ value: Int) -> String {
    let digits = Array(String(value))
    var result = ""
    for (index, digit) in digits.enumerated() {
        if index > 0 && (digits.count - index) % 3 == 0 { result.append(",") }
        result.append(digit)
    }
    return result
}

/// The rows as a Markdown table (pastes straight into the README).
func markdownTable(_ rows: [Row]) -> [String] {
    var lines = [
        "| row | value | unit | baseline | ratio | limit | of limit | goal | notes |",
        "|---|---:|---|---:|---:|---:|---:|---|---|",
    ]
    for row in rows {
        let value = row.value.map(pretty) ?? "not available"
        let baseline =
            row.baseline.map { pretty($0) + (row.baselineLabel.isEmpty ? "" : " (\(row.baselineLabel))") } ?? "-"
        let ratio = row.ratio.map { fixed($0, decimals: 2) + "x" } ?? "-"
        let limit = row.limit.map { pretty($0) + (row.limitLabel.isEmpty ? "" : " (\(row.limitLabel))") } ?? "-"
        let limitRatio = row.limitRatio.map { fixed($0, decimals: 2) + "x" } ?? "-"
        let goals =
            row.goals.isEmpty
            ? "-" : row.goals.map { "\($0.text) \($0.met ? "met" : "**missed**")" }.joined(separator: "; ")
        let notes = row.notes.isEmpty ? "" : row.notes.joined(separator: "; ")
        lines.append(
            "| `\(row.name.rawValue)` | \(value) | \(row.unit) | \(baseline) | \(ratio) | \(limit) | \(limitRatio) "
                + "| \(goals) | \(notes) |")
    }
    return lines
}

/// The rows as a JSON array of `{"name", "unit", "value", "baseline",
/// "ratio"}` (plus "limit" and "limitRatio" where a row has a limit, and
/// "extra" where it has further figures); a figure that does not exist is
/// null.
func jsonRows(_ rows: [Row]) -> String {
    var items: [String] = []
    for row in rows {
        var fields = [
            "\"name\": \(jsonString(row.name.rawValue))",
            "\"unit\": \(jsonString(row.unit))",
            "\"value\": \(jsonNumber(row.value))",
            "\"baseline\": \(jsonNumber(row.baseline))",
            "\"ratio\": \(jsonNumber(row.ratio))",
        ]
        if row.limit != nil {
            fields.append("\"limit\": \(jsonNumber(row.limit))")
            fields.append("\"limitRatio\": \(jsonNumber(row.limitRatio))")
        }
        if !row.extra.isEmpty {
            let extra = row.extra.map { "\(jsonString($0.key)): \(jsonNumber($0.value))" }.joined(separator: ", ")
            fields.append("\"extra\": {\(extra)}")
        }
        items.append("  {" + fields.joined(separator: ", ") + "}")
    }
    return "[\n" + items.joined(separator: ",\n") + "\n]"
}

private func jsonNumber(_ value: Double?) -> String {
    guard let value, value.isFinite else { return "null" }
    // Six significant digits are plenty for a benchmark.
    let magnitude = abs(value)
    var decimals = 0
    var bound = 100_000.0
    while magnitude < bound && decimals < 9 {
        decimals += 1
        bound /= 10
    }
    var text = fixed(value, decimals: decimals).replacingCommas
    if text.contains(".") {
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
    }
    return text
}

private func jsonString(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case "\n": result += "\\n"
        default:
            if scalar.value < 0x20 {
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
    }
    return result + "\""
}

extension String {
    fileprivate var replacingCommas: String { filter { $0 != "," } }
}
