import DSMRNodeRuntime
import Crypto
import DSMR
import DSMRNode
import Foundation
import NIOCore
import NIOPosix

/// A devnet's directory: its identity, the validators' keys, configurations
/// and stores, and the funded accounts, kept between runs.
///
/// ```
/// DIR/devnet.json         network and chain ids, genesis time, validator count, load seed
/// DIR/genesis.json        the state machine's genesis (dsmr-store replay --genesis takes DemoVM's)
/// DIR/processes           the processes the last run started (see DevnetProcessRecord)
/// DIR/node<i>/node.key    validator i's key (0600)
/// DIR/node<i>/node.json   its configuration, rewritten each run with fresh ports
/// DIR/node<i>/store       its chunk store
/// DIR/node<i>/state       its state machine's state
/// DIR/node<i>/snapshots   its kept snapshots and their certificates, served for state sync
/// DIR/node<i>/node.log    its log, appended each run
/// ```
package struct DevnetLayout: Sendable {
    /// What stays fixed for a devnet's life.
    package struct Identity: Codable, Sendable, Hashable {
        /// The network id.
        package var networkID: UInt32
        /// The chain id, in hex.
        package var chainID: String
        /// The genesis block's timestamp (ms since 1970).
        package var genesisTime: Int64
        /// How many validators.
        package var validators: Int
        /// Hex seed the load's parties (DemoVM: funded accounts) derive from.
        package var accountSeed: String
        /// How many parties the load has.
        package var accounts: Int
    }

    /// The devnet's directory.
    package let directory: String
    /// Its identity.
    package let identity: Identity

    /// The directory of validator `index`.
    package func nodeDirectory(_ index: Int) -> String { "\(directory)/node\(index)" }
    /// The configuration file of validator `index`.
    package func configurationPath(_ index: Int) -> String { "\(nodeDirectory(index))/node.json" }
    /// The log of validator `index`.
    package func logPath(_ index: Int) -> String { "\(nodeDirectory(index))/node.log" }
    /// The control socket of validator `index`.
    package func controlSocket(_ index: Int) -> String { "\(nodeDirectory(index))/control.sock" }
    /// The store of validator `index`.
    package func storePath(_ index: Int) -> String { "\(nodeDirectory(index))/store" }
    /// The state machine's genesis file.
    package var genesisPath: String { "\(directory)/genesis.json" }

    /// Opens the devnet at `directory`, creating it (mode 0700) with
    /// `validators` new keys and `provider`'s genesis for `accounts` load
    /// parties when it does not exist.
    ///
    /// - Throws: `ConfigurationError` when the directory holds a devnet of
    ///   another size, or cannot be created.
    package static func prepare(
        directory: String, validators: Int, provider: any StateMachineProvider, accounts: Int = 256
    ) throws -> DevnetLayout {
        let directory = URL(fileURLWithPath: directory).standardizedFileURL.path
        let identityPath = "\(directory)/devnet.json"
        let manager = FileManager.default
        if manager.fileExists(atPath: identityPath) {
            let identity = try JSONDecoder().decode(
                Identity.self, from: Data(contentsOf: URL(fileURLWithPath: identityPath)))
            guard identity.validators == validators else {
                throw ConfigurationError(
                    "\(directory) holds a devnet of \(identity.validators) validators, not \(validators); "
                        + "pass --validators \(identity.validators), or --reset to start a new one")
            }
            return DevnetLayout(directory: directory, identity: identity)
        }
        try manager.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var seed = [UInt8](repeating: 0, count: 32)
        for index in seed.indices { seed[index] = UInt8.random(in: 0...255) }
        var chain = [UInt8](repeating: 0, count: 32)
        for index in chain.indices { chain[index] = UInt8.random(in: 0...255) }
        let identity = Identity(
            networkID: 1337, chainID: Hex.encode(chain), genesisTime: SystemClockMilliseconds.now(),
            validators: validators, accountSeed: Hex.encode(seed), accounts: accounts)
        let layout = DevnetLayout(directory: directory, identity: identity)
        for index in 0..<validators {
            try manager.createDirectory(
                atPath: layout.nodeDirectory(index), withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
            try Ed25519Signer.generate().writeKeyFile(to: "\(layout.nodeDirectory(index))/node.key")
        }
        let genesis = try provider.devnetGenesis(seed: try layout.loadSeed(), parties: accounts)
        try Data(genesis).write(to: URL(fileURLWithPath: layout.genesisPath), options: .atomic)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        // Written last: a devnet.json means the rest is there.
        try encoder.encode(identity).write(to: URL(fileURLWithPath: identityPath), options: .atomic)
        return layout
    }

    /// The seed the load's parties derive from.
    package func loadSeed() throws -> [UInt8] {
        guard let seed = Hex.decode(identity.accountSeed), seed.count == 32 else {
            throw ConfigurationError("devnet.json: accountSeed is not 32 bytes of hex")
        }
        return seed
    }

    /// The validators' keys.
    package func validatorKeys() throws -> [Ed25519Signer] {
        try (0..<identity.validators).map { try Ed25519Signer(keyFile: "\(nodeDirectory($0))/node.key") }
    }

    /// The loopback address validator `index` listens, dials and serves
    /// metrics on: each its own 127.0.0.x (from 127.0.0.2), so peers tell
    /// validators apart by source address as they would across hosts.
    package static func host(of index: Int) -> String { "127.0.0.\(2 + index % 250)" }

    /// The peer port of a validator on a host of its own.
    package static let hostPeerPort = 7_700
    /// The metrics port of a validator on a host of its own.
    package static let hostMetricsPort = 9_100

    /// Writes every validator's configuration with fresh free ports on its
    /// own loopback address (``host(of:)``) for peers and metrics, and
    /// returns the metrics addresses. With `etcd`, every validator orders
    /// through its members, with its own credentials when it is secured.
    /// With `hosts` (one address a validator, each on a host of its own),
    /// validators take those addresses and fixed ports (``hostPeerPort``,
    /// ``hostMetricsPort``): nothing else listens there, and this process
    /// cannot bind them to look. With `peers` (one `host:port` a validator),
    /// peers dial those instead of the listen addresses (relays in front of
    /// the validators). Validators keep accepted chunks `acceptedRetention`
    /// ms past their expiry.
    package func writeConfigurations(
        rules: RulesConfiguration = RulesConfiguration(), etcd: EtcdCluster? = nil,
        etcdOrdering: EtcdOrderingConfiguration? = nil, snapshotInterval: UInt64? = nil, hosts placed: [String]? = nil,
        peers: [String]? = nil, acceptedRetention: Int64 = 600_000
    ) throws -> [String] {
        let keys = try validatorKeys()
        if let placed, placed.count != keys.count {
            throw ConfigurationError("\(placed.count) host addresses given for \(keys.count) validators")
        }
        if let peers, peers.count != keys.count {
            throw ConfigurationError("\(peers.count) peer addresses given for \(keys.count) validators")
        }
        let hosts = placed ?? keys.indices.map(Self.host(of:))
        let peerPorts = placed == nil ? try FreePorts.take(on: hosts) : hosts.map { _ in Self.hostPeerPort }
        let metricsPorts = placed == nil ? try FreePorts.take(on: hosts) : hosts.map { _ in Self.hostMetricsPort }
        let members = keys.indices.map {
            NodeConfiguration.Member(
                publicKey: Hex.encode(keys[$0].publicKey), weight: 1,
                address: peers?[$0] ?? "\(hosts[$0]):\(peerPorts[$0])")
        }
        var metrics: [String] = []
        for index in keys.indices {
            var configuration = NodeConfiguration(
                keyFile: "node.key", store: "store", state: "state", controlSocket: "control.sock",
                listen: "\(hosts[index]):\(peerPorts[index])", metrics: "\(hosts[index]):\(metricsPorts[index])",
                networkID: identity.networkID, chainID: identity.chainID, genesisTime: identity.genesisTime,
                genesis: "../genesis.json", rules: rules, validators: members)
            configuration.acceptedRetention = acceptedRetention
            configuration.snapshotInterval = snapshotInterval
            if let etcd {
                configuration.ordering = "etcd"
                configuration.etcd = etcd.endpoints
                configuration.etcdSecurity = etcd.validatorSecurity(index)
                configuration.etcdOrdering = etcdOrdering
            }
            try configuration.write(to: configurationPath(index))
            metrics.append("\(hosts[index]):\(metricsPorts[index])")
        }
        return metrics
    }
}

/// Wall-clock milliseconds since 1970.
enum SystemClockMilliseconds {
    static func now() -> Int64 { Int64((Date().timeIntervalSince1970 * 1_000).rounded(.down)) }
}

/// Ports free right now, found by binding port 0.
enum FreePorts {
    /// One free port on each of `hosts`.
    static func take(on hosts: [String]) throws -> [Int] {
        var channels: [any Channel] = []
        defer { for channel in channels { try? channel.close().wait() } }
        for host in hosts {
            channels.append(
                try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: host, port: 0).wait())
        }
        return channels.map { $0.localAddress?.port ?? 0 }
    }
}
