import Foundation

extension NodeConfiguration {
    /// Settings given on the command line, each replacing the file's (or
    /// making up the whole configuration when there is no file).
    package struct Overrides: Sendable, Hashable {
        /// The key file.
        package var keyFile: String?
        /// The store's directory.
        package var store: String?
        /// The DemoVM state's directory.
        package var state: String?
        /// The control socket.
        package var controlSocket: String?
        /// Where to listen for peers, `host:port`.
        package var listen: String?
        /// Where to serve metrics, `host:port`.
        package var metrics: String?
        /// The network id.
        package var networkID: UInt32?
        /// The chain id, in hex.
        package var chainID: String?
        /// The genesis block's timestamp (ms).
        package var genesisTime: Int64?
        /// The DemoVM genesis file.
        package var genesis: String?
        /// Validators as `PUBLICKEY:WEIGHT@HOST:PORT`; when any is given they replace the file's list.
        package var validators: [String] = []
        /// How blocks are ordered: `driver` or `etcd`.
        package var ordering: String?
        /// The etcd members' URLs.
        package var etcd: [String]?
        /// The etcd members' certificate authorities (PEM file).
        package var etcdTrustRoots: String?
        /// The node's etcd client certificate (PEM file).
        package var etcdCertificate: String?
        /// Its private key (PEM file).
        package var etcdKey: String?
        /// The etcd user the node acts as.
        package var etcdUser: String?
        /// The file holding that user's password.
        package var etcdPasswordFile: String?

        /// No override.
        package init() {}

        /// Whether nothing is overridden.
        package var isEmpty: Bool { self == Overrides() }

        /// `base` with these settings applied; without a base every required
        /// setting must be given. Relative paths given here are taken from
        /// the current directory.
        ///
        /// - Throws: ``ConfigurationError`` naming the missing or malformed setting.
        package func apply(to base: NodeConfiguration?) throws -> NodeConfiguration {
            let directory = FileManager.default.currentDirectoryPath
            func path(_ value: String?) -> String? {
                value.map { $0.hasPrefix("/") ? $0 : "\(directory)/\($0)" }
            }
            func required<T>(_ value: T?, _ flag: String) throws -> T {
                guard let value else {
                    throw ConfigurationError("\(flag) is required when no --config is given")
                }
                return value
            }
            let members = try validators.enumerated().map { index, text in
                try Self.member(text, setting: "--validator #\(index + 1)")
            }
            var configuration =
                try base
                ?? NodeConfiguration(
                    keyFile: required(path(keyFile), "--key-file"), store: required(path(store), "--store"),
                    state: required(path(state), "--state"),
                    controlSocket: required(path(controlSocket), "--control-socket"),
                    listen: required(listen, "--listen"), networkID: required(networkID, "--network-id"),
                    chainID: required(chainID, "--chain-id"), genesisTime: required(genesisTime, "--genesis-time"),
                    genesis: required(path(genesis), "--genesis"),
                    validators: members.isEmpty ? try required(nil, "--validator") : members)
            if let value = path(keyFile) { configuration.keyFile = value }
            if let value = path(store) { configuration.store = value }
            if let value = path(state) { configuration.state = value }
            if let value = path(controlSocket) { configuration.controlSocket = value }
            if let listen { configuration.listen = listen }
            if let metrics { configuration.metrics = metrics }
            if let networkID { configuration.networkID = networkID }
            if let chainID { configuration.chainID = chainID }
            if let genesisTime { configuration.genesisTime = genesisTime }
            if let value = path(genesis) { configuration.genesis = value }
            if !members.isEmpty { configuration.validators = members }
            if let ordering { configuration.ordering = ordering }
            if let etcd { configuration.etcd = etcd }
            let security = [etcdTrustRoots, etcdCertificate, etcdKey, etcdUser, etcdPasswordFile]
            if security.contains(where: { $0 != nil }) {
                var merged = configuration.etcdSecurity ?? EtcdSecurityConfiguration()
                if let value = path(etcdTrustRoots) { merged.trustRoots = value }
                if let value = path(etcdCertificate) { merged.certificate = value }
                if let value = path(etcdKey) { merged.key = value }
                if let etcdUser { merged.user = etcdUser }
                if let value = path(etcdPasswordFile) { merged.passwordFile = value }
                configuration.etcdSecurity = merged
            }
            return configuration
        }

        /// Parses `PUBLICKEY:WEIGHT@HOST:PORT`.
        static func member(_ text: String, setting: String) throws -> Member {
            let parts = text.split(separator: "@", maxSplits: 1).map(String.init)
            let identity = parts.first?.split(separator: ":").map(String.init) ?? []
            guard parts.count == 2, identity.count == 2, let weight = UInt64(identity[1]) else {
                throw ConfigurationError("\(setting) \"\(text.prefix(200))\" is not PUBLICKEY:WEIGHT@HOST:PORT")
            }
            _ = try Endpoint(parsing: parts[1], setting: setting)
            return Member(publicKey: identity[0], weight: weight, address: parts[1])
        }
    }
}
