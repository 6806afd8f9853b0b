import DSMROrdering
import Foundation
import Synchronization
import SystemC

/// A local etcd cluster for a devnet or a test: `members` `etcd` processes
/// on free loopback ports (or each on a host of its own, on ports 2379 and
/// 2380), `--pre-vote` on, each with its data under `directory` (emptied
/// first) and its output in `directory/member<i>.log`.
package final class EtcdCluster: Sendable {
    /// The members' client URLs.
    package let endpoints: [String]
    /// The cluster's directory.
    package let directory: String
    let peerURLs: [String]
    let executable: String
    let hosts: [HostPlacement]?
    let processes = Mutex<[Int: ChildProcess]>([:])

    /// Picks the members' ports and finds `etcd` on `PATH`; starts nothing.
    /// With `hosts` (one a member), member i listens on `hosts[i]`'s address
    /// and is started through its command prefix.
    ///
    /// - Throws: ``DevnetError`` when `etcd` is not on `PATH` (Debian: `apt-get install etcd-server`).
    package init(directory: String, members: Int = 3, hosts: [HostPlacement]? = nil) throws {
        guard let executable = Self.find("etcd") else {
            throw DevnetError(
                "etcd is not on PATH: ordering through etcd needs etcd 3.4 or later (Debian: apt-get install etcd-server)"
            )
        }
        self.executable = executable
        self.directory = URL(fileURLWithPath: directory).standardizedFileURL.path
        self.hosts = hosts
        if let hosts {
            guard hosts.count == members else {
                throw DevnetError("\(hosts.count) hosts given for \(members) etcd members")
            }
            // Each member alone on its host: etcd's own ports are free.
            endpoints = hosts.map { "http://\($0.address):2379" }
            peerURLs = hosts.map { "http://\($0.address):2380" }
            return
        }
        let loopback = Array(repeating: "127.0.0.1", count: members)
        let clientPorts = try FreePorts.take(on: loopback)
        let peerPorts = try FreePorts.take(on: loopback)
        endpoints = clientPorts.map { "http://127.0.0.1:\($0)" }
        peerURLs = peerPorts.map { "http://127.0.0.1:\($0)" }
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
        for index in endpoints.indices { try startMember(index) }
        var options = EtcdClient.Options()
        options.tries = 1
        let client = try EtcdClient(endpoints: endpoints, options: options)
        let deadline = ContinuousClock.now + .seconds(30)
        while (try? await client.put(Array("dsmr/started".utf8), [1])) == nil {
            guard ContinuousClock.now < deadline else {
                await client.shutdown()
                await stop()
                throw DevnetError("the etcd cluster did not accept a write in 30 s; see \(directory)/member0.log")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        await client.shutdown()
    }

    /// Starts member `index` (again, after ``kill(_:)``, on its data).
    package func startMember(_ index: Int) throws {
        let name = "member\(index)"
        let cluster = peerURLs.indices.map { "member\($0)=\(peerURLs[$0])" }.joined(separator: ",")
        let arguments = [
            "--name", name, "--data-dir", "\(directory)/\(name)",
            "--listen-client-urls", endpoints[index], "--advertise-client-urls", endpoints[index],
            "--listen-peer-urls", peerURLs[index], "--initial-advertise-peer-urls", peerURLs[index],
            "--initial-cluster", cluster, "--initial-cluster-token", "dsmr-devnet",
            "--initial-cluster-state", "new", "--pre-vote",
            "--heartbeat-interval", "50", "--election-timeout", "500", "--snapshot-count", "10000",
        ]
        let command = (hosts?[index] ?? HostPlacement(address: "")).command(executable, arguments)
        let process = try ChildProcess(
            executable: command.executable, arguments: command.arguments, logPath: "\(directory)/\(name).log")
        processes.withLock { $0[index] = process }
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
