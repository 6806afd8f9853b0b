import Foundation
import Synchronization
import SystemC

/// A testbed of hosts on one Linux machine: each host a network namespace
/// with its own address, joined to the others by a veth pair to a bridge,
/// and faults to apply per host and per link (nftables drop rules, `tbf`
/// rate limits).
///
/// ```
/// root namespace:  bridge dsb<tag> 10.<n>.0.254/24
///                    ├─ dsv<tag>h0 ── eth0 10.<n>.0.1  in namespace dsmr-<pid>-<tag>-h0 (lo up)
///                    ├─ dsv<tag>h1 ── eth0 10.<n>.0.2  in namespace dsmr-<pid>-<tag>-h1
///                    └─ ...
/// ```
///
/// The bridge has an address, so this process reaches every host (an etcd
/// member's client URL, a validator's metrics); processes on the hosts share
/// its filesystem (control sockets, logs, stores). Names carry this
/// process's id and a random tag, so testbeds in parallel do not collide.
/// Everything is removed by ``tearDown()`` (deleting the namespaces drops
/// their rules and rate limits); a testbed whose process died is removed by
/// the next ``create(hosts:)`` (``removeStale(ip:)``).
///
/// Needs root, `ip` (iproute2), `nft` (nftables) and `tc`; see
/// ``unavailableReason()``.
package final class HostTestbed: Sendable {
    /// One host: a network namespace with one interface, `eth0`.
    package struct Host: Sendable, Hashable {
        /// Its index in the testbed.
        package let index: Int
        /// Its network namespace.
        package let namespace: String
        /// Its address on the testbed's network.
        package let address: String
        /// The root-namespace end of its veth pair, on the bridge.
        package let link: String
    }

    /// The random tag in every name of this testbed.
    package let tag: String
    /// The bridge joining the hosts, in the root namespace.
    package let bridge: String
    /// The bridge's address, this process's address on the testbed's network.
    package let gateway: String
    /// The hosts.
    package let hosts: [Host]
    let tools: Tools
    let removed = Mutex(false)

    /// The executables the testbed runs.
    struct Tools: Sendable {
        var ip: String
        var nft: String
        var tc: String
    }

    init(tag: String, bridge: String, gateway: String, hosts: [Host], tools: Tools) {
        self.tag = tag
        self.bridge = bridge
        self.gateway = gateway
        self.hosts = hosts
        self.tools = tools
    }

    /// Where a process runs on `host`: its address, and `ip netns exec NAMESPACE` before its command.
    package func placement(_ host: Int) -> HostPlacement {
        HostPlacement(address: hosts[host].address, commandPrefix: [tools.ip, "netns", "exec", hosts[host].namespace])
    }

    // MARK: Creating and removing

    /// Why a testbed cannot be made here (not root, a tool missing, `ip netns add` refused), nil when it can.
    package static func unavailableReason() -> String? {
        guard geteuid() == 0 else { return "a host testbed needs root (network namespaces, nftables, tc)" }
        let tools: Tools
        do { tools = try findTools() } catch { return "\(error)" }
        let probe = "dsmr-probe-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do {
            try run(tools.ip, ["netns", "add", probe])
            try run(tools.ip, ["netns", "del", probe])
        } catch {
            return "\(error)"
        }
        return nil
    }

    /// Makes a testbed of `count` hosts on a free 10.<n>.0.0/24 network.
    /// What was made before a step failed is removed.
    ///
    /// - Throws: ``HostTestbedError``: not root, a tool missing, no free
    ///   network, or an `ip` command that failed (its command line and stderr).
    package static func create(hosts count: Int) throws -> HostTestbed {
        guard geteuid() == 0 else {
            throw HostTestbedError(.notRoot, "a host testbed needs root (network namespaces, nftables, tc)")
        }
        precondition((1...250).contains(count), "a host testbed has 1 to 250 hosts")
        let tools = try findTools()
        removeStale(ip: tools.ip)
        let tag = String(UInt32.random(in: 0...0xFF_FFFF), radix: 16).leftPadded(to: 6)
        let network = try freeNetwork(ip: tools.ip)
        let hosts = (0..<count).map {
            Host(
                index: $0, namespace: "dsmr-\(getpid())-\(tag)-h\($0)", address: "10.\(network).0.\($0 + 1)",
                link: "dsv\(tag)h\($0)")
        }
        let testbed = HostTestbed(
            tag: tag, bridge: "dsb\(tag)", gateway: "10.\(network).0.254", hosts: hosts, tools: tools)
        do {
            try testbed.build()
        } catch {
            testbed.tearDown()
            throw error
        }
        return testbed
    }

    func build() throws {
        try ip(["link", "add", bridge, "type", "bridge"])
        try ip(["addr", "add", "\(gateway)/24", "dev", bridge])
        try ip(["link", "set", bridge, "up"])
        for host in hosts {
            try ip(["netns", "add", host.namespace])
            try ip(["link", "add", host.link, "type", "veth", "peer", "name", "eth0", "netns", host.namespace])
            try ip(["link", "set", host.link, "master", bridge, "up"])
            try ip(["-n", host.namespace, "addr", "add", "\(host.address)/24", "dev", "eth0"])
            try ip(["-n", host.namespace, "link", "set", "eth0", "up"])
            try ip(["-n", host.namespace, "link", "set", "lo", "up"])
        }
    }

    /// Removes the hosts' veth pairs and namespaces and the bridge (again: nothing).
    ///
    /// Processes still running on a host lose their network; stop them first.
    package func tearDown() {
        let first = removed.withLock { removed in
            defer { removed = true }
            return !removed
        }
        guard first else { return }
        for host in hosts {
            // Deleting one end of a veth pair deletes both, even while a process keeps the namespace.
            _ = try? ip(["link", "del", host.link])
            _ = try? ip(["netns", "del", host.namespace])
        }
        _ = try? ip(["link", "del", bridge])
    }

    /// Removes what testbeds of processes no longer running left behind
    /// (their namespaces are named `dsmr-<pid>-<tag>-h<k>`).
    package static func removeStale(ip: String) {
        guard let listing = try? run(ip, ["netns", "list"]) else { return }
        var tags: Set<String> = []
        for line in listing.split(separator: "\n") {
            let name = String(line.split(separator: " ").first ?? "")
            let parts = name.split(separator: "-")
            guard parts.count == 4, parts[0] == "dsmr", let pid = Int32(parts[1]), kill(pid, 0) != 0, errno == ESRCH
            else { continue }
            tags.insert(String(parts[2]))
            _ = try? run(ip, ["netns", "del", name])
        }
        guard !tags.isEmpty, let links = try? run(ip, ["-o", "link", "show"]) else { return }
        for line in links.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 1 else { continue }
            let name = String(fields[1].split(separator: ":")[0].split(separator: "@")[0])
            if tags.contains(where: { name == "dsb\($0)" || name.hasPrefix("dsv\($0)h") }) {
                _ = try? run(ip, ["link", "del", name])
            }
        }
    }

    // MARK: Faults

    /// The nftables table the testbed's drop rules live in, in a host's namespace.
    static let faultTable = "dsmr_fault"

    /// Drops every packet `host` sends or receives on its network (its
    /// loopback still works): it is cut off from every other host and from
    /// this process's network.
    package func cutOff(_ host: Int) throws {
        try drop(on: host, input: "iifname \"eth0\" counter drop", output: "oifname \"eth0\" counter drop")
    }

    /// Drops every packet between `host` and `peer` (both ways; the rules sit on `host`).
    package func cut(_ host: Int, from peer: Int) throws {
        let address = hosts[peer].address
        try drop(on: host, input: "ip saddr \(address) counter drop", output: "ip daddr \(address) counter drop")
    }

    /// Drops every TCP packet between `host` and port `port` of `address`
    /// (both ways; the rules sit on `host`): one link through a relay that
    /// listens there, where ``cut(_:from:)`` would cut every link through it.
    package func cut(_ host: Int, fromPort port: Int, at address: String) throws {
        try drop(
            on: host, input: "ip saddr \(address) tcp sport \(port) counter drop",
            output: "ip daddr \(address) tcp dport \(port) counter drop")
    }

    /// Removes every drop rule on `host` (``cutOff(_:)``, ``cut(_:from:)``, ``cut(_:fromPort:at:)``).
    package func heal(_ host: Int) throws {
        try nft(host, "delete table inet \(Self.faultTable)")
    }

    /// The packets `host`'s drop rules have dropped since they went in (0 without rules).
    package func droppedPackets(_ host: Int) throws -> Int {
        let rules: String
        do {
            rules = try inHost(host, tools.nft, ["list", "table", "inet", Self.faultTable])
        } catch let error as HostTestbedError where error.standardError?.contains("No such file") == true {
            return 0
        }
        let words = rules.split(whereSeparator: \.isWhitespace)
        return words.indices.dropLast().reduce(0) { total, index in
            words[index] == "packets" ? total + (Int(words[index + 1]) ?? 0) : total
        }
    }

    func drop(on host: Int, input: String, output: String) throws {
        let table = "inet \(Self.faultTable)"
        // `add` is idempotent for tables and chains; a second cut adds its rules beside the first's.
        try nft(
            host,
            "add table \(table); "
                + "add chain \(table) input { type filter hook input priority 0; policy accept; }; "
                + "add chain \(table) output { type filter hook output priority 0; policy accept; }; "
                + "add rule \(table) input \(input); add rule \(table) output \(output)")
    }

    /// Limits `host`'s link to `rate` each way with a token bucket filter
    /// (`tc qdisc replace ... tbf`) on both ends of its veth pair.
    ///
    /// - Parameters:
    ///   - host: the host's index.
    ///   - rate: a `tc` rate (`"1mbit"`, `"500kbit"`).
    ///   - burst: the bucket's size (`tc`'s `burst`).
    ///   - latency: how long a packet may wait for tokens before it is dropped.
    package func limitRate(_ host: Int, rate: String, burst: String = "32kbit", latency: String = "200ms") throws {
        let shape = ["root", "tbf", "rate", rate, "burst", burst, "latency", latency]
        try run(tools.tc, ["qdisc", "replace", "dev", hosts[host].link] + shape)
        try inHost(host, tools.tc, ["qdisc", "replace", "dev", "eth0"] + shape)
    }

    /// Removes `host`'s rate limit (``limitRate(_:rate:burst:latency:)``).
    package func removeRateLimit(_ host: Int) throws {
        try run(tools.tc, ["qdisc", "del", "dev", hosts[host].link, "root"])
        try inHost(host, tools.tc, ["qdisc", "del", "dev", "eth0", "root"])
    }

    /// The queueing disciplines on `host`'s interface (`tc qdisc show dev
    /// eth0` there; with `statistics`, `tc -s`: bytes sent, drops, overlimits).
    package func queueingDisciplines(_ host: Int, statistics: Bool = false) throws -> String {
        try inHost(host, tools.tc, (statistics ? ["-s"] : []) + ["qdisc", "show", "dev", "eth0"])
    }

    // MARK: Commands

    /// Runs `executable arguments` in `host`'s namespace and returns its output.
    @discardableResult
    package func inHost(_ host: Int, _ executable: String, _ arguments: [String]) throws -> String {
        try Self.run(tools.ip, ["netns", "exec", hosts[host].namespace, executable] + arguments)
    }

    func nft(_ host: Int, _ commands: String) throws { try inHost(host, tools.nft, [commands]) }

    @discardableResult
    func ip(_ arguments: [String]) throws -> String { try Self.run(tools.ip, arguments) }

    @discardableResult
    func run(_ executable: String, _ arguments: [String]) throws -> String { try Self.run(executable, arguments) }

    /// Runs `executable arguments` to its end and returns its standard output.
    ///
    /// - Throws: ``HostTestbedError`` with code `commandFailed`, naming the
    ///   command line, its exit status and its standard error.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        let line = ([executable] + arguments).joined(separator: " ")
        do {
            try process.run()
        } catch {
            throw HostTestbedError(.commandFailed, "cannot start \(line): \(error)", command: line)
        }
        // Read both before waiting: a child blocked on a full pipe never ends.
        let stderrData = ReadBuffer()
        let read = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            stderrData.data = errors.fileHandleForReading.readDataToEndOfFile()
            read.signal()
        }
        let stdout = output.fileHandleForReading.readDataToEndOfFile()
        read.wait()
        process.waitUntilExit()
        let stderr = String(decoding: stderrData.data, as: UTF8.self)
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            throw HostTestbedError(
                .commandFailed,
                "\(line) failed with status \(process.terminationStatus): "
                    + stderr.trimmingCharacters(in: .whitespacesAndNewlines),
                command: line, standardError: stderr)
        }
        return String(decoding: stdout, as: UTF8.self)
    }

    static func findTools() throws -> Tools {
        func find(_ name: String, _ package: String) throws -> String {
            for directory in ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] {
                let candidate = "\(directory)/\(name)"
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            }
            if let found = EtcdCluster.find(name) { return found }
            throw HostTestbedError(
                .toolMissing, "\(name) is not installed: a host testbed needs it (Debian: apt-get install \(package))")
        }
        return Tools(
            ip: try find("ip", "iproute2"), nft: try find("nft", "nftables"), tc: try find("tc", "iproute2"))
    }

    /// A random n for 10.n.0.0/24 that no address or route of the root namespace uses.
    static func freeNetwork(ip: String) throws -> Int {
        let used = (try run(ip, ["-o", "addr", "show"])) + (try run(ip, ["route", "show"]))
        for _ in 0..<64 {
            let candidate = Int.random(in: 16...250)
            if !used.contains("10.\(candidate).") { return candidate }
        }
        throw HostTestbedError(.noFreeNetwork, "no free 10.n.0.0/24 network for a host testbed (64 tries)")
    }
}

/// Where a devnet process runs instead of this process's network: the
/// address it listens and dials on, and what its command is run through
/// (`ip netns exec NAMESPACE`; empty runs it directly).
package struct HostPlacement: Sendable, Hashable {
    /// Its address.
    package var address: String
    /// The command the process's executable and arguments are appended to.
    package var commandPrefix: [String]

    /// A placement from its parts.
    package init(address: String, commandPrefix: [String] = []) {
        self.address = address
        self.commandPrefix = commandPrefix
    }

    /// The executable and arguments that start `executable arguments` in this placement.
    package func command(_ executable: String, _ arguments: [String]) -> (executable: String, arguments: [String]) {
        guard let first = commandPrefix.first else { return (executable, arguments) }
        return (first, Array(commandPrefix.dropFirst()) + [executable] + arguments)
    }
}

/// A host testbed step failed; ``code`` says which kind, the message what and on what.
package struct HostTestbedError: Error, CustomStringConvertible, Sendable {
    /// The kinds of failure.
    package struct Code: Hashable, Sendable {
        let name: String
        /// This process is not root.
        package static let notRoot = Code(name: "notRoot")
        /// `ip`, `nft` or `tc` is not installed.
        package static let toolMissing = Code(name: "toolMissing")
        /// Every network tried is in use.
        package static let noFreeNetwork = Code(name: "noFreeNetwork")
        /// A command (`ip`, `nft`, `tc`) failed.
        package static let commandFailed = Code(name: "commandFailed")
    }

    /// The kind.
    package let code: Code
    /// What failed, on what, and why.
    package let description: String
    /// The command line that failed, for ``Code/commandFailed``.
    package let command: String?
    /// Its standard error.
    package let standardError: String?

    init(_ code: Code, _ description: String, command: String? = nil, standardError: String? = nil) {
        self.code = code
        self.description = description
        self.command = command
        self.standardError = standardError
    }
}

/// What a reading thread fills in, read once the thread has signalled
/// (the semaphore orders the write before the read).
private final class ReadBuffer: @unchecked Sendable {
    var data = Data()
}

extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
