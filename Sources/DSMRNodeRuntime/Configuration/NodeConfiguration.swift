import DSMR
import Foundation

/// Everything `dsmr-node run` needs to run one validator, read from a JSON
/// file. Relative paths are taken from the file's directory.
///
/// ```json
/// {
///   "keyFile": "node.key", "store": "store", "state": "state",
///   "controlSocket": "control.sock", "listen": "127.0.0.1:9650",
///   "metrics": "127.0.0.1:9100",
///   "networkID": 1337, "chainID": "<64 hex digits>", "genesisTime": 0,
///   "genesis": "genesis.json", "rules": {"slotDuration": 250},
///   "validators": [{"publicKey": "<64 hex digits>", "weight": 1, "address": "127.0.0.1:9650"}]
/// }
/// ```
///
/// Unknown keys are refused, so a misspelt setting is an error.
public struct NodeConfiguration: Codable, Sendable, Hashable {
    /// One member of the validator set, and where it listens.
    public struct Member: Codable, Sendable, Hashable {
        /// The validator's Ed25519 public key, in hex.
        public var publicKey: String
        /// Its stake.
        public var weight: UInt64
        /// Where it listens for peers, `host:port`.
        public var address: String

        /// A member.
        public init(publicKey: String, weight: UInt64, address: String) {
            self.publicKey = publicKey
            self.weight = weight
            self.address = address
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case publicKey, weight, address }

        public init(from decoder: any Decoder) throws {
            try refuseUnknownKeys(decoder, allowed: CodingKeys.allCases.map(\.rawValue), in: "a validator")
            let container = try decoder.container(keyedBy: CodingKeys.self)
            publicKey = try container.decode(String.self, forKey: .publicKey)
            weight = try container.decode(UInt64.self, forKey: .weight)
            address = try container.decode(String.self, forKey: .address)
        }
    }

    /// This validator's key file (mode 0600, see `dsmr-node keygen`).
    public var keyFile: String
    /// The chunk store's directory.
    public var store: String
    /// The DemoVM state's directory.
    public var state: String
    /// The Unix socket the control API listens on (created with mode 0600).
    public var controlSocket: String
    /// Where the node listens for its peers, `host:port`.
    public var listen: String
    /// Where Prometheus metrics are served over HTTP (`GET /metrics`), `host:port`; none when absent.
    public var metrics: String?
    /// The network id every signature is bound to.
    public var networkID: UInt32
    /// The chain id, in hex.
    public var chainID: String
    /// The genesis block's timestamp, in milliseconds since 1970.
    public var genesisTime: Int64
    /// The DemoVM genesis balances file (`{"accounts": [...]}`).
    public var genesis: String
    /// The protocol rules; absent fields take the devnet's.
    public var rules: RulesConfiguration
    /// The validator set (one epoch for the whole run).
    public var validators: [Member]
    /// How long accepted chunks are kept after their expiry, in milliseconds.
    public var acceptedRetention: Int64?
    /// How often the node tries to build a chunk, in milliseconds; a quarter slot when absent.
    public var chunkInterval: Int64?
    /// How blocks are ordered: `driver` (the default: the node is driven
    /// over its control socket) or `etcd` (the node follows and proposes to
    /// a log in the etcd cluster at ``etcd``).
    public var ordering: String?
    /// The etcd members' client URLs (`http://host:port`, or
    /// `https://host:port` for members serving TLS), for `ordering: etcd`.
    public var etcd: [String]?
    /// How the node reaches a secured etcd cluster (TLS files, its user).
    public var etcdSecurity: EtcdSecurityConfiguration?
    /// How the node proposes, rotates and takes over through etcd.
    public var etcdOrdering: EtcdOrderingConfiguration?
    /// Heights between two state snapshots the node keeps to serve peers
    /// that come back without a store (1 to 1,000,000; 64 when absent).
    public var snapshotInterval: UInt64?
    /// How many certified snapshots the node keeps (1 to 100; 2 when absent).
    public var snapshotsKept: Int?

    /// A configuration from its parts.
    public init(
        keyFile: String, store: String, state: String, controlSocket: String, listen: String, metrics: String? = nil,
        networkID: UInt32, chainID: String, genesisTime: Int64, genesis: String,
        rules: RulesConfiguration = RulesConfiguration(), validators: [Member]
    ) {
        self.keyFile = keyFile
        self.store = store
        self.state = state
        self.controlSocket = controlSocket
        self.listen = listen
        self.metrics = metrics
        self.networkID = networkID
        self.chainID = chainID
        self.genesisTime = genesisTime
        self.genesis = genesis
        self.rules = rules
        self.validators = validators
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case keyFile, store, state, controlSocket, listen, metrics, networkID, chainID, genesisTime, genesis, rules
        case validators, acceptedRetention, chunkInterval, ordering, etcd, etcdSecurity, etcdOrdering
        case snapshotInterval, snapshotsKept
    }

    public init(from decoder: any Decoder) throws {
        try refuseUnknownKeys(decoder, allowed: CodingKeys.allCases.map(\.rawValue), in: "the node configuration")
        let container = try decoder.container(keyedBy: CodingKeys.self)
        keyFile = try container.decode(String.self, forKey: .keyFile)
        store = try container.decode(String.self, forKey: .store)
        state = try container.decode(String.self, forKey: .state)
        controlSocket = try container.decode(String.self, forKey: .controlSocket)
        listen = try container.decode(String.self, forKey: .listen)
        metrics = try container.decodeIfPresent(String.self, forKey: .metrics)
        networkID = try container.decode(UInt32.self, forKey: .networkID)
        chainID = try container.decode(String.self, forKey: .chainID)
        genesisTime = try container.decode(Int64.self, forKey: .genesisTime)
        genesis = try container.decode(String.self, forKey: .genesis)
        rules = try container.decodeIfPresent(RulesConfiguration.self, forKey: .rules) ?? RulesConfiguration()
        validators = try container.decode([Member].self, forKey: .validators)
        acceptedRetention = try container.decodeIfPresent(Int64.self, forKey: .acceptedRetention)
        chunkInterval = try container.decodeIfPresent(Int64.self, forKey: .chunkInterval)
        ordering = try container.decodeIfPresent(String.self, forKey: .ordering)
        etcd = try container.decodeIfPresent([String].self, forKey: .etcd)
        etcdSecurity = try container.decodeIfPresent(EtcdSecurityConfiguration.self, forKey: .etcdSecurity)
        etcdOrdering = try container.decodeIfPresent(EtcdOrderingConfiguration.self, forKey: .etcdOrdering)
        snapshotInterval = try container.decodeIfPresent(UInt64.self, forKey: .snapshotInterval)
        snapshotsKept = try container.decodeIfPresent(Int.self, forKey: .snapshotsKept)
    }

    /// The largest configuration file read.
    public static let maxFileBytes = 1 << 20

    /// Reads the configuration at `path` and makes its relative paths absolute.
    ///
    /// - Throws: ``ConfigurationError`` naming the file and what is wrong.
    public static func load(from path: String) throws -> NodeConfiguration {
        let url = URL(fileURLWithPath: path)
        let data: Data
        do {
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            data = try handle.read(upToCount: maxFileBytes + 1) ?? Data()
        } catch {
            throw ConfigurationError("cannot read \(path): \(error.localizedDescription)")
        }
        guard data.count <= maxFileBytes else {
            throw ConfigurationError("\(path) is larger than \(maxFileBytes) bytes")
        }
        var configuration: NodeConfiguration
        do {
            configuration = try JSONDecoder().decode(NodeConfiguration.self, from: data)
        } catch let error as ConfigurationError {
            throw ConfigurationError("\(path): \(error.message)")
        } catch {
            throw ConfigurationError("\(path) is not a valid node configuration: \(describe(error))")
        }
        configuration.resolvePaths(relativeTo: url.deletingLastPathComponent().path)
        return configuration
    }

    /// Writes the configuration as pretty JSON to `path`, replacing it.
    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    mutating func resolvePaths(relativeTo directory: String) {
        func absolute(_ path: String) -> String { path.hasPrefix("/") ? path : "\(directory)/\(path)" }
        keyFile = absolute(keyFile)
        store = absolute(store)
        state = absolute(state)
        controlSocket = absolute(controlSocket)
        genesis = absolute(genesis)
        etcdSecurity = etcdSecurity?.resolved(relativeTo: directory)
    }
}

/// A decoding error as one line naming the key path.
func describe(_ error: any Error) -> String {
    guard let error = error as? DecodingError else { return "\(error)" }
    func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
    }
    switch error {
    case .keyNotFound(let key, let context): return "missing key \(path(context.codingPath + [key]))"
    case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
        return "\(path(context.codingPath)): \(context.debugDescription)"
    @unknown default: return "\(error)"
    }
}
