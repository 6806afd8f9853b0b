import DSMRNodeRuntime
import SystemC

/// The latency budget of a devnet phase: each validator's stage histograms
/// (``LatencyStage``) read from its Prometheus endpoint before and after the
/// phase, and the mean of each stage over every validator in between.
struct StageBudget {
    /// Seconds summed and samples counted, by stage, over every validator.
    var totals: [LatencyStage: (sum: Double, count: Double)] = [:]

    /// Reads every validator's `/metrics` at `addresses` (`host:port`).
    static func read(_ addresses: [String]) throws -> StageBudget {
        var budget = StageBudget()
        for address in addresses {
            let text = try fetchMetrics(address)
            for line in text.split(separator: "\n") where !line.hasPrefix("#") {
                guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...])
                else { continue }
                let name = line[..<space]
                for stage in LatencyStage.allCases {
                    if name == "\(stage.metric)_sum" { budget.totals[stage, default: (0, 0)].sum += value }
                    if name == "\(stage.metric)_count" { budget.totals[stage, default: (0, 0)].count += value }
                }
            }
        }
        return budget
    }

    /// The mean milliseconds of each stage between `earlier` and this reading (nil where nothing was timed).
    func means(since earlier: StageBudget) -> [(stage: LatencyStage, milliseconds: Double?)] {
        LatencyStage.allCases.map { stage in
            let now = totals[stage] ?? (0, 0)
            let then = earlier.totals[stage] ?? (0, 0)
            let count = now.count - then.count
            return (stage, count > 0 ? (now.sum - then.sum) / count * 1_000 : nil)
        }
    }

    /// The stage's name in the table.
    static func label(_ stage: LatencyStage) -> String {
        switch stage {
        case .mempool: "mempool wait"
        case .build: "chunk build"
        case .certify: "certification"
        case .blockWait: "certificate to block"
        case .acceptAndExecute: "accept and execute"
        }
    }

    /// The body of `GET /metrics` from `address` (`host:port`), over a plain TCP connection.
    static func fetchMetrics(_ address: String) throws -> String {
        guard let colon = address.lastIndex(of: ":"), let port = UInt16(address[address.index(after: colon)...]) else {
            throw BenchError("metrics address \(address) is not host:port")
        }
        let host = String(address[..<colon])
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchError("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &target.sin_addr) == 1 else {
            throw BenchError("\(host) is not an IPv4 address")
        }
        let connected = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw BenchError("connect \(address): \(String(cString: strerror(errno)))") }
        let request = Array("GET /metrics HTTP/1.1\r\nHost: \(address)\r\nConnection: close\r\n\r\n".utf8)
        var sent = 0
        while sent < request.count {
            let n = request.withUnsafeBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, 0) }
            guard n > 0 else { throw BenchError("send to \(address): \(String(cString: strerror(errno)))") }
            sent += n
        }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while answer.count < 16 << 20 {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n <= 0 { break }
            answer += buffer[0..<n]
        }
        let text = String(decoding: answer, as: UTF8.self)
        guard text.hasPrefix("HTTP/1.1 200"), let end = text.range(of: "\r\n\r\n") else {
            throw BenchError("GET /metrics from \(address): \(text.prefix(80))")
        }
        return String(text[end.upperBound...])
    }
}
