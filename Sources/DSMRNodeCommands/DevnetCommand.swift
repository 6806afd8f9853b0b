import ArgumentParser
import DSMRDevnet
import DSMRNodeRuntime
import Foundation
import SystemC

extension NodeCommand {
    struct Devnet: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a local devnet: N validators as separate processes on loopback, with load.",
            discussion: """
                Keys, configurations and stores live under --data and are reused on the next run \
                (--reset starts a new chain). A load generator submits the state machine's \
                transactions (dsmr-node: signed DemoVM transfers) at --tx-rate per second. With \
                --ordering etcd (the default) the devnet starts its own etcd members (etcd on PATH, \
                Debian: etcd-server; data under --data) and the validators order through them; with \
                --ordering driver an ordering driver (a test driver, not consensus) has the validators \
                build and accept blocks in turn. A status line shows throughput, latency \
                and store sizes; the summary lists every validator's state root at the last common \
                height, and the command fails (exit 1) if they differ. With --hosts (root, \
                iproute2 and nftables), every validator and etcd member runs on a \
                host of its own: a network namespace with its own address on a bridge, removed at \
                the end.
                """)

        @Option(help: "How many validators.")
        var validators = 4

        @Option(help: "The devnet's directory.")
        var data = "devnet-data"

        @Option(help: "How long the load runs, in seconds.")
        var duration: Double = 15

        @Option(name: .customLong("tx-rate"), help: "Transactions submitted per second.")
        var txRate = 500

        @Option(help: "Who orders blocks: etcd (the devnet's own etcd cluster) or driver (the devnet's test driver).")
        var ordering = "etcd"

        @Option(help: "How many etcd members to start with --ordering etcd.")
        var etcdMembers = 3

        @Flag(
            help: """
                Run the etcd members without TLS and access control (by default each validator gets a client \
                certificate and its own etcd user).
                """
        )
        var etcdPlain = false

        @Flag(help: "Run every validator and etcd member on a host of its own (a network namespace; needs root).")
        var hosts = false

        @Flag(help: "Delete the directory's chain first (a new devnet).")
        var reset = false

        @Flag(help: "Print the summary as JSON.")
        var json = false

        func validate() throws {
            guard (1...32).contains(validators) else { throw ValidationError("--validators must be 1...32") }
            guard duration > 0, duration <= 86_400 else { throw ValidationError("--duration must be in (0, 86400]") }
            guard (1...100_000).contains(txRate) else { throw ValidationError("--tx-rate must be 1...100000") }
            guard DevnetOrdering(rawValue: ordering) != nil else {
                throw ValidationError("--ordering must be etcd or driver, not \(ordering)")
            }
            guard (1...7).contains(etcdMembers) else { throw ValidationError("--etcd-members must be 1...7") }
        }

        func run() async throws {
            // A killed run's validators and etcd members may still run in the
            // directory (and hold its stores); they stop before anything else.
            do {
                let stopped = try await DevnetProcessRecord.stopLeftovers(in: data)
                if !stopped.isEmpty {
                    printError(
                        "stopped \(stopped.count) processes an earlier run in \(data) left running: "
                            + stopped.joined(separator: ", "))
                }
            } catch {
                printError("error: \(error)")
                throw ExitCode(1)
            }
            if reset { try resetDirectory() }
            let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
            var options = DevnetOptions(
                directory: data, executable: executable, provider: NodeCommandLine.provider)
            options.validators = validators
            options.duration = .milliseconds(Int64(duration * 1_000))
            options.transactionRate = txRate
            options.ordering = DevnetOrdering(rawValue: ordering) ?? .etcd
            options.etcdMembers = etcdMembers
            options.etcdSecured = !etcdPlain
            var testbed: HostTestbed?
            defer { testbed?.tearDown() }
            let devnet: DSMRDevnet.Devnet
            // With --json, standard output carries the summary alone; what is
            // said along the way goes to standard error.
            let json = self.json
            @Sendable func say(_ line: String, terminator: String = "\n") {
                if json { printError(line, terminator: terminator) } else { print(line, terminator: terminator) }
            }
            do {
                if hosts {
                    // The etcd members take the first hosts; the driver needs none (it uses control sockets).
                    let members = options.ordering == .etcd ? etcdMembers : 0
                    let made = try HostTestbed.create(hosts: members + validators)
                    testbed = made
                    options.etcdHosts = (0..<members).map(made.placement)
                    options.validatorHosts = (0..<validators).map { made.placement(members + $0) }
                    say("hosts on bridge \(made.bridge), this process at \(made.gateway):")
                    for host in made.hosts {
                        let role = host.index < members ? "etcd member\(host.index)" : "node\(host.index - members)"
                        say("  \(host.namespace) \(host.address): \(role)")
                    }
                }
                devnet = try DSMRDevnet.Devnet(options)
            } catch {
                printError("error: \(error)")
                throw ExitCode(1)
            }
            let terminal = isatty(json ? 2 : 1) == 1
            say(
                "devnet in \(devnet.layout.directory): \(validators) validators, \(txRate) transactions/s for \(duration) s"
            )
            for (index, address) in devnet.metricsAddresses.enumerated() {
                say("  node\(index): metrics http://\(address)/metrics, log \(devnet.layout.logPath(index))")
            }
            let interrupt = installInterruptHandler(
                stop: { devnet.stopLoad() },
                kill: { [testbed] in
                    devnet.killAllNow()
                    testbed?.tearDown()
                })
            let termination = installTerminationHandler { [testbed] in
                devnet.killAllNow()
                testbed?.tearDown()
            }
            defer {
                interrupt.cancel()
                termination.cancel()
            }
            let summary = try await devnet.run { progress in
                if terminal {
                    say("\r\u{1B}[2K" + progress.line, terminator: "")
                    fflush(nil)
                } else {
                    say(progress.line)
                }
            }
            if terminal { say("") }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(summary), as: UTF8.self))
            } else {
                printSummary(summary, layout: devnet.layout)
            }
            guard summary.nodes.contains(where: { $0.health != nil }) else {
                printError("no validator was running at the end")
                throw ExitCode(1)
            }
            guard summary.rootsAgree else {
                printError("the validators' state roots differ at height \(summary.commonHeight)")
                throw ExitCode(1)
            }
            guard summary.unhealthy.isEmpty else {
                for (index, health) in summary.unhealthy { printError("node\(index) is \(health)") }
                throw ExitCode(1)
            }
            guard summary.lagging.isEmpty else {
                for node in summary.lagging {
                    printError(
                        "node\(node.index) did not keep up: executed height \(node.executedHeight), "
                            + "\(node.behind) blocks behind; \(node.cause)")
                }
                throw ExitCode(1)
            }
        }

        /// Deletes `--data` for `--reset`, only if it holds a devnet (or is empty).
        func resetDirectory() throws {
            let manager = FileManager.default
            guard manager.fileExists(atPath: data) else { return }
            let entries = (try? manager.contentsOfDirectory(atPath: data)) ?? []
            guard entries.isEmpty || manager.fileExists(atPath: "\(data)/devnet.json") else {
                printError("error: --reset: \(data) is not a devnet directory (no devnet.json); not deleting it")
                throw ExitCode(1)
            }
            try manager.removeItem(atPath: data)
        }

        func printSummary(_ summary: DevnetSummary, layout: DevnetLayout) {
            func ms(_ value: Double?) -> String { value.map { String(format: "%.0f ms", $0) } ?? "-" }
            print(
                String(
                    format:
                        "%d transactions submitted, %d executed (%.0f/s over %.1f s), %d lost and re-sent, %d pending",
                    summary.submitted, summary.executed, summary.executedPerSecond, summary.seconds, summary.lost,
                    summary.pending))
            if let catchUp = summary.chainCatchUp { print(catchUp.line) }
            print(
                "\(summary.blocks) blocks, \(summary.certificates) chunk certificates; "
                    + "latency p50 \(ms(summary.p50Milliseconds)), p99 \(ms(summary.p99Milliseconds))")
            print("state roots at height \(summary.commonHeight):")
            for node in summary.nodes {
                print(
                    "  node\(node.index) \(node.nodeID.prefix(12))  executed \(node.executedHeight)  "
                        + "root \(node.stateRoot ?? "-")  store "
                        + String(format: "%.1f MiB", Double(node.storeBytes) / 1_048_576)
                        + (node.health.map { $0 == "healthy" ? "" : "  \($0)" } ?? "  not answering")
                        + (node.restarts > 0 ? "  restarted \(node.restarts)x" : ""))
            }
            let answering = summary.nodes.filter { $0.health != nil }
            print(
                summary.rootsAgree
                    ? "all validators agree"
                    : answering.isEmpty ? "no validator answered at the end" : "VALIDATORS DISAGREE")
            print("look at a store: dsmr-store stats --store \(layout.storePath(0))")
            print("                 dsmr-store check --store \(layout.storePath(0))")
            print(
                "                 \(NodeCommandLine.commandName) replay --store \(layout.storePath(0)) "
                    + "--genesis \(layout.genesisPath)")
        }
    }
}

/// Runs `stop` on the first SIGINT; a second SIGINT runs `kill` and ends the process.
func installInterruptHandler(
    stop: @escaping @Sendable () -> Void, kill: @escaping @Sendable () -> Void
) -> any DispatchSourceSignal {
    signal(SIGINT, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: SIGINT)
    let count = Counter()
    source.setEventHandler {
        if count.next() > 1 {
            kill()
            exit(130)
        }
        stop()
    }
    source.resume()
    return source
}

/// On SIGTERM runs `kill` and ends the process.
func installTerminationHandler(_ kill: @escaping @Sendable () -> Void) -> any DispatchSourceSignal {
    signal(SIGTERM, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: SIGTERM)
    source.setEventHandler {
        kill()
        exit(143)
    }
    source.resume()
    return source
}

private final class Counter: @unchecked Sendable {
    private var value = 0
    private let lock = NSLock()
    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}

func printError(_ message: String, terminator: String = "\n") {
    FileHandle.standardError.write(Data((message + terminator).utf8))
}
