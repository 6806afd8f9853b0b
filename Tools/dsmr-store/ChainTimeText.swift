import SystemC

/// A chain time as the tool prints it for people: the raw milliseconds, then
/// the UTC date and time they stand for, such as
/// `1796499108760 ms (2026-12-05 21:18:28.760 UTC)`. `--json` keeps the raw
/// value alone.
func chainTimeText(_ milliseconds: Int64) -> String {
    let seconds = milliseconds.quotientAndRemainder(dividingBy: 1_000)
    var whole = time_t(seconds.quotient)
    var fraction = seconds.remainder
    if fraction < 0 {
        whole -= 1
        fraction += 1_000
    }
    var parts = tm()
    guard gmtime_r(&whole, &parts) != nil else { return "\(milliseconds) ms" }
    func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
    let millis = fraction < 10 ? "00\(fraction)" : fraction < 100 ? "0\(fraction)" : "\(fraction)"
    let date = "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))"
    let time = "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(millis)"
    return "\(milliseconds) ms (\(date) \(time) UTC)"
}
