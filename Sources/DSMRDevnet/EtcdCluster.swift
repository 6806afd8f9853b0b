import DSMRNodeRuntime
import DSMROrdering
import Foundation
import Synchronization
import SystemC

/// A local etcd cluster for a devnet or a test: `members` `etcd` processes
/// on free loopback ports (or each on a host of its own, on ports 2379 and
/// 2380), `--pre-vote` on, each with its data under `directory` (emptied
/// first) and its output in `directory/member<i>.log`.
///
/// A cluster with ``Access`` is secured as a production one should be:
/// client and peer TLS with certificates from a fresh authority
/// (`directory/pki`), client certificates required, and etcd's access
/// control on, with a root user (password in `pki/root.password`) and a
/// user and role per validator (``validatorSecurity(_:)``).
package final class EtcdCluster: Sendable {
    /// Who may do what in a secured cluster.
    package struct Access: Sendable, Hashable {
        /// The chain's key prefix (`EtcdOrdering.prefix(for:)`), without a trailing slash.
        package var prefix: String
        /// How many validators get a user.
        package var validators: Int

        /// Users for `validators` validators of the chain under `prefix`.
        package init(prefix: String, validators: Int) {
            self.prefix = prefix
            self.validators = validators
        }
    }

    /// The members' client URLs.
    package let endpoints: [String]
    /// The cluster's directory.
    package let directory: String
    /// Who may do what; nil for a plain cluster (http, no access control).
    package let access: Access?
    let peerURLs: [String]
    let executable: String
    let hosts: [HostPlacement]?
    let processes = Mutex<[Int: ChildProcess]>([:])
    /// Told each member's index and pid as it starts.
    let started: (@Sendable (Int, Int32) -> Void)?
    /// Flags every member is started with besides the cluster's own.
    let memberArguments: [String]
    /// The root user's password once a secured cluster's access control is on.
    let rootPassword = Mutex<String?>(nil)

    /// Picks the members' ports and finds `etcd` on `PATH`; starts nothing.
    /// With `hosts` (one a member), member i listens on `hosts[i]`'s address
    /// and is started through its command prefix.
    ///
    /// - Throws: ``DevnetError`` when `etcd` is not on `PATH` (Debian: `apt-get install etcd-server`).
    /// `memberArguments` are added to every member's command line (a test's
    /// `--auth-token-ttl`, say). With `hosts` (one a member), member i
    /// listens on `hosts[i]`'s address and is started through its command prefix.
    /// `started` is told each member's index and pid as it starts.
    package init(
        directory: String, members: Int = 3, access: Access? = nil, memberArguments: [String] = [],
        hosts: [HostPlacement]? = nil, started: (@Sendable (Int, Int32) -> Void)? = nil
    ) throws {
        self.started = started
        guard let executable = Self.find("etcd") else {
            throw DevnetError(
                "etcd is not on PATH: ordering through etcd needs etcd 3.4 or later (Debian: apt-get install etcd-server)"
            )
        }
        self.executable = executable
        self.directory = URL(fileURLWithPath: directory).standardizedFileURL.path
        let scheme = access == nil ? "http" : "https"
        self.access = access
        self.memberArguments = memberArguments
        self.hosts = hosts
        if let hosts {
            guard hosts.count == members else {
                throw DevnetError("\(hosts.count) hosts given for \(members) etcd members")
            }
            // Each member alone on its host: etcd's own ports are free.
            endpoints = hosts.map { "\(scheme)://\($0.address):2379" }
            peerURLs = hosts.map { "\(scheme)://\($0.address):2380" }
            return
        }
        let loopback = Array(repeating: "127.0.0.1", count: members)
        let clientPorts = try FreePorts.take(on: loopback)
        let peerPorts = try FreePorts.take(on: loopback)
        endpoints = clientPorts.map { "\(scheme)://127.0.0.1:\($0)" }
        peerURLs = peerPorts.map { "\(scheme)://127.0.0.1:\($0)" }
    }

    /// The directory of a secured cluster's certificates and passwords.
    var pkiDirectory: String { "\(directory)/pki" }

    /// How the devnet itself reaches the cluster: as root when secured.
    package var rootSecurity: EtcdSecurity {
        guard access != nil else { return EtcdSecurity() }
        return EtcdSecurity(
            trustRootsPath: "\(pkiDirectory)/ca.pem", certificatePath: "\(pkiDirectory)/devnet.pem",
            keyPath: "\(pkiDirectory)/devnet.key",
            credentials: rootPassword.withLock { $0 }.map { .init(user: "root", password: $0) })
    }

    /// What validator `index` is given to reach a secured cluster (files
    /// under `pki`, made when the cluster starts); nil for a plain cluster.
    package func validatorSecurity(_ index: Int) -> EtcdSecurityConfiguration? {
        guard access != nil else { return nil }
        let name = Self.validatorUser(index)
        return EtcdSecurityConfiguration(
            trustRoots: "\(pkiDirectory)/ca.pem", certificate: "\(pkiDirectory)/\(name).pem",
            key: "\(pkiDirectory)/\(name).key", user: name, passwordFile: "\(pkiDirectory)/\(name).password")
    }

    /// The etcd user (and role) of validator `index`.
    package static func validatorUser(_ index: Int) -> String { "validator\(index)" }

    /// A client of the cluster acting as its root user when secured.
    package func client(options: EtcdClient.Options = EtcdClient.Options()) throws -> EtcdClient {
        try EtcdClient(endpoints: endpoints, options: options, security: rootSecurity)
    }

    /// The first executable named `name` in `PATH`.
    static func find(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Starts every member and waits until the cluster answers a write.
    package func start() async throws {
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let root = access != nil ? try makeCertificates() : nil
        for index in endpoints.indices { try startMember(index) }
        var options = EtcdClient.Options()
        options.tries = 1
        let client = try EtcdClient(endpoints: endpoints, options: options, security: rootSecurity)
        let deadline = ContinuousClock.now + .seconds(30)
        while (try? await client.put(Array("dsmr/started".utf8), [1])) == nil {
            guard ContinuousClock.now < deadline else {
                await client.shutdown()
                await stop()
                throw DevnetError("the etcd cluster did not accept a write in 30 s; see \(directory)/member0.log")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        defer { Task { await client.shutdown() } }
        if let access, let root {
            do {
                try await grantAccess(access, rootPassword: root, client)
            } catch {
                await stop()
                throw DevnetError("cannot set up etcd's users and roles: \(error)")
            }
        }
    }

    /// Makes the authority, the members' certificates, the devnet's own
    /// client certificate, each validator's with its password, and the
    /// root user's password, which it returns.
    func makeCertificates() throws -> String {
        let pki = try EtcdPKI(directory: pkiDirectory)
        for index in endpoints.indices {
            let host = URL(string: endpoints[index])?.host ?? "127.0.0.1"
            try pki.issue("member\(index)", addresses: [host], unit: "etcd member \(index)")
        }
        try pki.issue("devnet", unit: "devnet")
        for index in 0..<(access?.validators ?? 0) {
            let name = Self.validatorUser(index)
            try pki.issue(name, unit: name)
            _ = try pki.password(name)
        }
        rootPassword.withLock { $0 = nil }
        return try pki.password("root").password
    }

    /// Adds the root user and a user and role per validator, then turns
    /// access control on. A validator's role may read the chain's keys and
    /// write (etcd cannot grant put without delete) its block attempts and
    /// the election's keys; nothing else.
    func grantAccess(_ access: Access, rootPassword root: String, _ open: EtcdClient) async throws {
        try await open.addUser("root", password: root)
        try await open.addRole("root")
        try await open.grantRole("root", to: "root")
        for index in 0..<access.validators {
            let name = Self.validatorUser(index)
            let password = try EtcdSecurityConfiguration.password(in: "\(pkiDirectory)/\(name).password")
            try await open.addUser(name, password: password)
            try await open.addRole(name)
            try await open.grant(.read, onPrefix: Array("\(access.prefix)/".utf8), to: name)
            try await open.grant(.readWrite, onPrefix: Array("\(access.prefix)/blocks/".utf8), to: name)
            try await open.grant(.readWrite, onPrefix: Array("\(access.prefix)/proposer/".utf8), to: name)
            try await open.grantRole(name, to: name)
        }
        try await open.enableAuthentication()
        rootPassword.withLock { $0 = root }
    }

    /// Starts member `index` (again, after ``kill(_:)``, on its data).
    package func startMember(_ index: Int) throws {
        let name = "member\(index)"
        let cluster = peerURLs.indices.map { "member\($0)=\(peerURLs[$0])" }.joined(separator: ",")
        var arguments = [
            "--name", name, "--data-dir", "\(directory)/\(name)",
            "--listen-client-urls", endpoints[index], "--advertise-client-urls", endpoints[index],
            "--listen-peer-urls", peerURLs[index], "--initial-advertise-peer-urls", peerURLs[index],
            "--initial-cluster", cluster, "--initial-cluster-token", "dsmr-devnet",
            "--initial-cluster-state", "new", "--pre-vote",
            "--heartbeat-interval", "50", "--election-timeout", "500", "--snapshot-count", "10000",
        ]
        if access != nil {
            let pki = pkiDirectory
            arguments += [
                "--cert-file", "\(pki)/\(name).pem", "--key-file", "\(pki)/\(name).key",
                "--trusted-ca-file", "\(pki)/ca.pem", "--client-cert-auth",
                "--peer-cert-file", "\(pki)/\(name).pem", "--peer-key-file", "\(pki)/\(name).key",
                "--peer-trusted-ca-file", "\(pki)/ca.pem", "--peer-client-cert-auth",
            ]
        }
        let command = (hosts?[index] ?? HostPlacement(address: "")).command(executable, arguments + memberArguments)
        let process = try ChildProcess(
            executable: command.executable, arguments: command.arguments, logPath: "\(directory)/\(name).log")
        processes.withLock { $0[index] = process }
        started?(index, process.processID)
    }

    /// Kills member `index` with SIGKILL and waits for it to end.
    package func kill(_ index: Int) async {
        guard let process = processes.withLock({ $0.removeValue(forKey: index) }) else { return }
        process.signal(SIGKILL)
        await process.wait()
    }

    /// Stops every member with SIGTERM (SIGKILL after 5 s).
    package func stop() async {
        let all = processes.withLock { processes in
            defer { processes = [:] }
            return Array(processes.values)
        }
        await withTaskGroup(of: Void.self) { group in
            for process in all { group.addTask { await process.stop(grace: .seconds(5)) } }
        }
    }

    /// Sends SIGKILL to every member without waiting (for a process about to exit).
    package func killAllNow() {
        for process in processes.withLock({ Array($0.values) }) { process.signal(SIGKILL) }
    }
}
