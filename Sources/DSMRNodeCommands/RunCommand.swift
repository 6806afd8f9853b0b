import ArgumentParser
import DSMRNode
import DSMRNodeRuntime
import Dispatch
import Foundation
import Logging
import Metrics
import Prometheus

extension NodeCommand {
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run one validator until SIGTERM or SIGINT, from a configuration file, flags, or both.",
            discussion: """
                The node takes its store's writer lock: a second node on the same store is refused, \
                naming the holder. It listens for its peers on the configured address, answers the \
                control API (block building and acceptance, transaction submission, status) on a Unix \
                socket with mode 0600, and serves Prometheus metrics on GET /metrics when "metrics" is set.
                """)

        @Option(help: "The node's JSON configuration file; flags below replace its settings.")
        var config: String?

        @Option(help: "The validator's key file (see keygen).")
        var keyFile: String?
        @Option(help: "The chunk store's directory.")
        var store: String?
        @Option(help: "The state machine's state directory.")
        var state: String?
        @Option(help: "The control socket's path.")
        var controlSocket: String?
        @Option(help: "Where to listen for peers, host:port.")
        var listen: String?
        @Option(help: "Where to serve Prometheus metrics, host:port.")
        var metrics: String?
        @Option(help: "The network id.")
        var networkID: UInt32?
        @Option(help: "The chain id, 64 hex digits.")
        var chainID: String?
        @Option(help: "The genesis block's timestamp, ms since 1970.")
        var genesisTime: Int64?
        @Option(help: "The state machine's genesis file (DemoVM: the genesis balances).")
        var genesis: String?
        @Option(
            name: .customLong("validator"),
            help: "A validator, PUBLICKEY:WEIGHT@HOST:PORT; repeat for each (replaces the file's list).")
        var validators: [String] = []

        @Option(help: "How blocks are ordered: driver (driven over the control socket) or etcd.")
        var ordering: String?
        @Option(
            help: """
                The etcd members' client URLs, comma-separated (http://HOST:PORT or https://HOST:PORT), \
                for --ordering etcd.
                """
        )
        var etcd: String?
        @Option(help: "PEM file of the certificate authorities the etcd members' TLS certificates chain to.")
        var etcdTrustRoots: String?
        @Option(help: "PEM file of this node's etcd client certificate (no common name; members may require one).")
        var etcdCertificate: String?
        @Option(help: "PEM file of the etcd client certificate's private key.")
        var etcdKey: String?
        @Option(help: "The etcd user this node acts as (with --etcd-password-file).")
        var etcdUser: String?
        @Option(help: "A file whose first line is the etcd user's password.")
        var etcdPasswordFile: String?

        @Flag(help: "Stop when the process that started this one ends (the devnet starts its validators so).")
        var exitWithParent = false

        @Option(help: "Log level: trace, debug, info, notice, warning, error or critical.")
        var logLevel: String = "info"

        func run() async throws {
            guard let level = Logger.Level(rawValue: logLevel) else {
                throw ValidationError("--log-level \(logLevel) is not a log level")
            }
            var overrides = NodeConfiguration.Overrides()
            overrides.keyFile = keyFile
            overrides.store = store
            overrides.state = state
            overrides.controlSocket = controlSocket
            overrides.listen = listen
            overrides.metrics = metrics
            overrides.networkID = networkID
            overrides.chainID = chainID
            overrides.genesisTime = genesisTime
            overrides.genesis = genesis
            overrides.validators = validators
            overrides.ordering = ordering
            overrides.etcd = etcd.map { $0.split(separator: ",").map { String($0) } }
            overrides.etcdTrustRoots = etcdTrustRoots
            overrides.etcdCertificate = etcdCertificate
            overrides.etcdKey = etcdKey
            overrides.etcdUser = etcdUser
            overrides.etcdPasswordFile = etcdPasswordFile
            let configuration: NodeConfiguration
            do {
                configuration = try overrides.apply(to: try config.map { try NodeConfiguration.load(from: $0) })
            } catch {
                printError("error: \(error)")
                throw ExitCode(1)
            }
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
            let logger = Logger(label: "dsmr.node")
            let registry = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(DocumentedMetricsFactory(registry: registry))
            let runner: NodeRunner
            do {
                runner = try await NodeRunner(
                    configuration, stateMachine: NodeCommandLine.provider, logger: logger,
                    customization: NodeCommandLine.customization)
            } catch {
                logger.critical("cannot start the node: \(error)")
                throw ExitCode(1)
            }
            var endpoint: MetricsEndpoint?
            if let metrics = configuration.metrics {
                let address = try Endpoint(parsing: metrics, setting: "metrics")
                endpoint = try await MetricsEndpoint(
                    registry: registry, host: address.host, port: address.port, health: { runner.health })
                logger.info("metrics served", metadata: ["address": "\(address.host):\(endpoint!.port)"])
            }
            let signals = [SIGTERM, SIGINT].map { number -> any DispatchSourceSignal in
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number)
                source.setEventHandler { runner.stop() }
                source.resume()
                return source
            }
            defer { signals.forEach { $0.cancel() } }
            let parentWatch = Task { [exitWithParent] in
                guard exitWithParent else { return }
                let parent = getppid()
                while !Task.isCancelled, getppid() == parent { try? await Task.sleep(for: .milliseconds(250)) }
                if !Task.isCancelled {
                    logger.warning("the parent process ended; stopping")
                    runner.stop()
                }
            }
            defer { parentWatch.cancel() }
            do {
                try await runner.run()
            } catch let failure as NodeFailure {
                // Logged when it happened; the status tells a supervisor to restart the node.
                await endpoint?.close()
                throw ExitCode(failure.exitCode)
            }
            await endpoint?.close()
        }
    }
}
