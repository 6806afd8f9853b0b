import DSMR
import DSMROrdering
import Foundation

/// A ``NodeConfiguration`` whose settings were checked and parsed: the
/// values a validator runs with.
package struct ValidatedConfiguration: Sendable {
    /// The chain's rules.
    package let rules: Rules
    /// The signing domain (network and chain).
    package let domain: SigningDomain
    /// This validator's key, read from the key file.
    package let signer: Ed25519Signer
    /// The validator set (epoch 0), which holds ``signer``'s node.
    package let validators: ValidatorSet
    /// Each configured validator with the address it listens on, in
    /// configuration order.
    package let members: [(validator: Validator, endpoint: Endpoint)]
    /// Where this validator listens for peers.
    package let listen: Endpoint
    /// How often the chunk loop looks at the mempool.
    package let chunkInterval: Duration
    /// The etcd members, how to reach them and how to order through them,
    /// when the node orders through etcd; nil when it is driven.
    package let etcd: EtcdSettings?
}

extension NodeConfiguration {
    /// Checks every setting and parses it, in the order the settings are
    /// used: rules, chain id, key file, each validator (key, weight,
    /// address), the set as a whole, that the key file's node is one of
    /// them, the listen address, the chunk interval and the retention.
    ///
    /// - Throws: ``ConfigurationError`` naming the first bad setting.
    package func validated() throws -> ValidatedConfiguration {
        let rules = try rules.rules()
        let chainID: ChainID
        do {
            chainID = try ChainID(hex: self.chainID)
        } catch {
            throw ConfigurationError("chainID: \(error)")
        }
        let signer: Ed25519Signer
        do {
            signer = try Ed25519Signer(keyFile: keyFile)
        } catch {
            throw ConfigurationError("keyFile: \(error)")
        }
        var members: [(validator: Validator, endpoint: Endpoint)] = []
        for (index, member) in validators.enumerated() {
            guard let key = Hex.decode(member.publicKey), key.count == 32 else {
                throw ConfigurationError("validators[\(index)].publicKey is not 32 bytes of hex")
            }
            guard member.weight > 0 else { throw ConfigurationError("validators[\(index)].weight must be positive") }
            members.append(
                (
                    Validator(publicKey: key, weight: member.weight),
                    try Endpoint(parsing: member.address, setting: "validators[\(index)].address")
                ))
        }
        let set: ValidatorSet
        do {
            set = try ValidatorSet(epoch: 0, validators: members.map(\.validator))
        } catch {
            throw ConfigurationError("validators: \(error)")
        }
        guard set.contains(signer.nodeID) else {
            throw ConfigurationError(
                "keyFile: the key in \(keyFile) (node \(signer.nodeID)) is not one of the configured validators")
        }
        let listen = try Endpoint(parsing: self.listen, setting: "listen")
        if let interval = chunkInterval, interval <= 0 {
            throw ConfigurationError("chunkInterval must be positive, is \(interval)")
        }
        if let retention = acceptedRetention, retention < 0 {
            throw ConfigurationError("acceptedRetention must not be negative, is \(retention)")
        }
        if let interval = snapshotInterval, !(1...1_000_000).contains(interval) {
            throw ConfigurationError("snapshotInterval must be 1...1000000 heights, is \(interval)")
        }
        if let kept = snapshotsKept, !(1...100).contains(kept) {
            throw ConfigurationError("snapshotsKept must be 1...100, is \(kept)")
        }
        let etcd: EtcdSettings?
        switch ordering ?? "driver" {
        case "driver":
            etcd = nil
        case "etcd":
            guard let endpoints = self.etcd, !endpoints.isEmpty else {
                throw ConfigurationError("ordering etcd needs the etcd members' URLs (etcd, or --etcd URL,...)")
            }
            for endpoint in endpoints {
                guard let url = URL(string: endpoint), url.scheme == "http" || url.scheme == "https",
                    url.host != nil, url.port != nil
                else {
                    throw ConfigurationError(
                        "etcd: \"\(endpoint.prefix(200))\" is not http://HOST:PORT or https://HOST:PORT")
                }
            }
            let security = try (etcdSecurity ?? EtcdSecurityConfiguration()).security()
            let secure = endpoints.filter { $0.hasPrefix("https://") }.count
            guard secure == 0 || secure == endpoints.count else {
                throw ConfigurationError("etcd: the members' URLs mix http:// and https://")
            }
            if secure == 0, security.usesTLS {
                throw ConfigurationError("etcdSecurity: TLS files are set but the etcd URLs are http://, not https://")
            }
            etcd = EtcdSettings(
                endpoints: endpoints, security: security,
                options: try (etcdOrdering ?? EtcdOrderingConfiguration()).options())
        case let other:
            throw ConfigurationError("ordering \"\(other.prefix(40))\" is neither driver nor etcd")
        }
        return ValidatedConfiguration(
            rules: rules, domain: SigningDomain(networkID: networkID, chainID: chainID), signer: signer,
            validators: set, members: members, listen: listen,
            chunkInterval: .milliseconds(chunkInterval ?? max(1, rules.slotDuration / 4)), etcd: etcd)
    }
}
