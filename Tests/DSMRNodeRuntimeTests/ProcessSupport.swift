import DSMR
import DSMRDevnet
import DSMRNodeRuntime
import DSMROrdering
import DSMRTestSupport
import DemoVM
import Foundation
import Testing

/// A fresh directory `/tmp/dsmr-<tag>-XXXXXX`: a short path, because
/// control socket paths must stay under 104 bytes.
func scratchDirectory(_ tag: String) throws -> TemporaryDirectory {
    try TemporaryDirectory("dsmr-\(tag)", in: "/tmp")
}

/// Asks the node listening on the control socket at `path` for `request`;
/// nil when it does not answer (not running, or stopping).
func ask(_ path: String, _ request: ControlRequest) async -> ControlResponse? {
    guard let client = try? await ControlClient.connect(path: path) else { return nil }
    let response = try? await client.send(request)
    await client.close()
    return response
}

/// The status of the node on the control socket at `path`, nil when it does not answer.
func nodeStatus(_ path: String) async -> NodeStatus? {
    guard case .status(let status)? = await ask(path, .status) else { return nil }
    return status
}

/// The statuses of validators `indices` of `layout`; throws when one does not answer.
func statuses(_ layout: DevnetLayout, _ indices: some Sequence<Int>) async throws -> [Int: NodeStatus] {
    var result: [Int: NodeStatus] = [:]
    for index in indices {
        guard let status = await nodeStatus(layout.controlSocket(index)) else {
            throw TestFailure("validator \(index) does not answer its control socket")
        }
        result[index] = status
    }
    return result
}

/// Options for a short devnet under `directory` running the built `dsmr-node`.
func devnetOptions(
    _ directory: String, validators: Int = 4, load: Duration?, rate: Int = 200
) throws
    -> DevnetOptions
{
    var options = DevnetOptions(
        directory: directory + "/devnet", executable: try builtExecutable("dsmr-node"), provider: DemoProvider())
    options.validators = validators
    options.duration = load
    // Tests kill and restart validators themselves.
    options.restartDied = false
    options.transactionRate = rate
    options.statusInterval = .milliseconds(500)
    options.drainTimeout = .seconds(20)
    return options
}

/// Runs `body` on a started devnet; stops its validators however `body` ends.
func withDevnet<T>(_ options: DevnetOptions, _ body: (Devnet) async throws -> T) async throws -> T {
    let devnet = try Devnet(options)
    do {
        try await devnet.start()
        let result = try await body(devnet)
        await devnet.stopNodes()
        return result
    } catch {
        await devnet.stopNodes()
        let logs = (0..<options.validators).map { "node\($0).log:\n\(logTail(devnet.layout, $0, lines: 8))" }
        throw TestFailure("\(error)\n\(logs.joined(separator: "\n"))")
    }
}

/// The tail of validator `index`'s log, for failure messages.
func logTail(_ layout: DevnetLayout, _ index: Int, lines: Int = 20) -> String {
    let text = (try? String(contentsOfFile: layout.logPath(index), encoding: .utf8)) ?? ""
    return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
}

/// The network and chain `devnet`'s signatures are bound to.
func signingDomain(_ devnet: Devnet) throws -> SigningDomain {
    let identity = devnet.layout.identity
    return SigningDomain(networkID: identity.networkID, chainID: try ChainID(hex: identity.chainID))
}

/// The chain's log prefix in the etcd cluster of `devnet`.
func etcdPrefix(_ devnet: Devnet) throws -> String { EtcdOrdering.prefix(for: try signingDomain(devnet)) }

/// The highest accepted height among validators `indices` of `devnet` (0 when none answers).
func topHeight(_ devnet: Devnet, _ indices: some Sequence<Int>) async -> UInt64 {
    var best: UInt64 = 0
    for index in indices {
        best = max(best, await nodeStatus(devnet.layout.controlSocket(index))?.acceptedHeight ?? 0)
    }
    return best
}

/// Runs `body` with a fresh one-member etcd cluster in a scratch directory
/// (secured as `access` says, its member started with `memberArguments`)
/// and a client of it (the root user's when secured); stops both after.
func withEtcdMember(
    _ tag: String, access: EtcdCluster.Access? = nil, memberArguments: [String] = [],
    _ body: (EtcdClient, EtcdCluster) async throws -> Void
) async throws {
    let scratch = try scratchDirectory(tag)
    defer { scratch.remove() }
    let cluster = try EtcdCluster(
        directory: scratch.path + "/etcd", members: 1, access: access, memberArguments: memberArguments)
    try await cluster.start()
    let client: EtcdClient
    do {
        client = try cluster.client()
    } catch {
        await cluster.stop()
        throw error
    }
    do {
        try await body(client, cluster)
    } catch {
        await client.shutdown()
        await cluster.stop()
        throw error
    }
    await client.shutdown()
    await cluster.stop()
}
