import DSMROrdering
import Foundation

/// How a node reaches a secured etcd cluster (`etcdSecurity` in the node
/// configuration). Every field is optional: TLS files for `https://`
/// members (the trust roots; a client certificate, with no common name,
/// and its key for members started with `--client-cert-auth`), and a user
/// of etcd's access control with a file holding its password.
public struct EtcdSecurityConfiguration: Codable, Sendable, Hashable {
    /// PEM file of the certificate authorities the members' certificates chain to.
    public var trustRoots: String?
    /// PEM file of the node's client certificate.
    public var certificate: String?
    /// PEM file of the client certificate's private key.
    public var key: String?
    /// The etcd user the node acts as.
    public var user: String?
    /// A file holding the user's password (its first line; keep it 0600).
    public var passwordFile: String?

    /// No setting.
    public init(
        trustRoots: String? = nil, certificate: String? = nil, key: String? = nil, user: String? = nil,
        passwordFile: String? = nil
    ) {
        self.trustRoots = trustRoots
        self.certificate = certificate
        self.key = key
        self.user = user
        self.passwordFile = passwordFile
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case trustRoots, certificate, key, user, passwordFile
    }

    public init(from decoder: any Decoder) throws {
        try refuseUnknownKeys(decoder, allowed: CodingKeys.allCases.map(\.rawValue), in: "etcdSecurity")
        let container = try decoder.container(keyedBy: CodingKeys.self)
        trustRoots = try container.decodeIfPresent(String.self, forKey: .trustRoots)
        certificate = try container.decodeIfPresent(String.self, forKey: .certificate)
        key = try container.decodeIfPresent(String.self, forKey: .key)
        user = try container.decodeIfPresent(String.self, forKey: .user)
        passwordFile = try container.decodeIfPresent(String.self, forKey: .passwordFile)
    }

    /// The paths made absolute against `directory`.
    func resolved(relativeTo directory: String) -> EtcdSecurityConfiguration {
        func absolute(_ path: String?) -> String? { path.map { $0.hasPrefix("/") ? $0 : "\(directory)/\($0)" } }
        return EtcdSecurityConfiguration(
            trustRoots: absolute(trustRoots), certificate: absolute(certificate), key: absolute(key), user: user,
            passwordFile: absolute(passwordFile))
    }

    /// The client's settings, with the password read from its file.
    ///
    /// - Throws: ``ConfigurationError`` when a user comes without a password
    ///   file (or the reverse), the certificate without its key (or the
    ///   reverse), or the password file cannot be read or is empty.
    package func security() throws -> EtcdSecurity {
        guard (certificate == nil) == (key == nil) else {
            throw ConfigurationError("etcdSecurity: certificate and key go together")
        }
        var security = EtcdSecurity(trustRootsPath: trustRoots, certificatePath: certificate, keyPath: key)
        switch (user, passwordFile) {
        case (nil, nil):
            break
        case (let user?, let file?):
            guard !user.isEmpty, user.utf8.count <= 128 else {
                throw ConfigurationError("etcdSecurity.user must be 1 to 128 bytes")
            }
            security.credentials = .init(user: user, password: try Self.password(in: file))
        default:
            throw ConfigurationError("etcdSecurity: user and passwordFile go together")
        }
        return security
    }

    /// The first line of `file`, at most 4 KiB.
    package static func password(in file: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: file) else {
            throw ConfigurationError("etcdSecurity.passwordFile \(file) cannot be read")
        }
        defer { try? handle.close() }
        let data = (try? handle.read(upToCount: 4_097)) ?? Data()
        guard data.count <= 4_096 else {
            throw ConfigurationError("etcdSecurity.passwordFile \(file) is longer than 4 KiB")
        }
        let line = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init)
        guard let password = line, !password.isEmpty else {
            throw ConfigurationError("etcdSecurity.passwordFile \(file) holds no password")
        }
        return password
    }
}

/// How a node orders through etcd (`etcdOrdering` in the node
/// configuration); absent fields take ``EtcdOrderingOptions``' defaults.
public struct EtcdOrderingConfiguration: Codable, Sendable, Hashable {
    /// The leadership lease's time to live, in seconds (2 to 60).
    public var leaseSeconds: Int64?
    /// Blocks a leader proposes before it resigns (at least 1).
    public var rotateBlocks: Int?
    /// Milliseconds a leader holds the leadership before it resigns (at least 100).
    public var rotateAfter: Int64?
    /// Milliseconds without an accepted block before any validator publishes an attempt (at least 500).
    public var takeoverAfter: Int64?
    /// The largest block proposed, in encoded bytes (1 KiB to 1.5 MiB, etcd's request limit).
    public var maxBlockBytes: Int?
    /// Heights kept in etcd below the tip (at least 10; the node raises it
    /// to the heights of its block retention).
    public var retainHeights: UInt64?
    /// The leader prunes and compacts every this many heights (0: never).
    public var pruneEvery: UInt64?

    /// No setting.
    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case leaseSeconds, rotateBlocks, rotateAfter, takeoverAfter, maxBlockBytes, retainHeights, pruneEvery
    }

    public init(from decoder: any Decoder) throws {
        try refuseUnknownKeys(decoder, allowed: CodingKeys.allCases.map(\.rawValue), in: "etcdOrdering")
        let container = try decoder.container(keyedBy: CodingKeys.self)
        leaseSeconds = try container.decodeIfPresent(Int64.self, forKey: .leaseSeconds)
        rotateBlocks = try container.decodeIfPresent(Int.self, forKey: .rotateBlocks)
        rotateAfter = try container.decodeIfPresent(Int64.self, forKey: .rotateAfter)
        takeoverAfter = try container.decodeIfPresent(Int64.self, forKey: .takeoverAfter)
        maxBlockBytes = try container.decodeIfPresent(Int.self, forKey: .maxBlockBytes)
        retainHeights = try container.decodeIfPresent(UInt64.self, forKey: .retainHeights)
        pruneEvery = try container.decodeIfPresent(UInt64.self, forKey: .pruneEvery)
    }

    /// The options, each checked against its bounds.
    ///
    /// - Throws: ``ConfigurationError`` naming the setting out of bounds.
    package func options() throws -> EtcdOrderingOptions {
        var options = EtcdOrderingOptions()
        func check<T: Comparable>(_ value: T?, _ bounds: ClosedRange<T>, _ name: String) throws -> T? {
            guard let value else { return nil }
            guard bounds.contains(value) else {
                throw ConfigurationError(
                    "etcdOrdering.\(name) must be \(bounds.lowerBound)...\(bounds.upperBound), is \(value)")
            }
            return value
        }
        if let value = try check(leaseSeconds, 2...60, "leaseSeconds") { options.leaseSeconds = value }
        if let value = try check(rotateBlocks, 1...1_000_000, "rotateBlocks") { options.rotateBlocks = value }
        if let value = try check(rotateAfter, 100...86_400_000, "rotateAfter") {
            options.rotateAfter = .milliseconds(value)
        }
        if let value = try check(takeoverAfter, 500...86_400_000, "takeoverAfter") {
            options.takeoverAfter = .milliseconds(value)
        }
        if let value = try check(maxBlockBytes, 1_024...(3 << 19), "maxBlockBytes") {
            options.maxBlockBytes = value
        }
        if let value = try check(retainHeights, 10...(1 << 40), "retainHeights") { options.retainHeights = value }
        if let value = try check(pruneEvery, 0...(1 << 40), "pruneEvery") { options.pruneEvery = value }
        return options
    }
}

/// The checked settings of a node that orders through etcd.
package struct EtcdSettings: Sendable {
    /// The members' client URLs.
    package var endpoints: [String]
    /// How the node reaches them.
    package var security: EtcdSecurity
    /// How it proposes, rotates and takes over.
    package var options: EtcdOrderingOptions
}
