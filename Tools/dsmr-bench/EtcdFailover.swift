import DSMR
import DSMRDevnet
import DSMRNodeRuntime
import DSMROrdering
import Foundation

/// The time from SIGKILLing the validator that leads a devnet's etcd
/// election to the next block another validator accepts.
enum EtcdFailover {
    /// Kills the leader's validator (it stays down: the devnet is stopped
    /// next) and polls the others' accepted heights every 10 ms, for at most a minute.
    static func measure(_ devnet: Devnet) async throws -> Duration {
        guard let cluster = devnet.etcd else { throw BenchError("devnet-etcd: the devnet runs no etcd cluster") }
        let client = try cluster.client()
        defer { Task { await client.shutdown() } }
        let identity = devnet.layout.identity
        let prefix = EtcdOrdering.prefix(
            for: SigningDomain(networkID: identity.networkID, chainID: try ChainID(hex: identity.chainID)))
        let keys = try devnet.layout.validatorKeys().map(\.nodeID.hex)
        guard let leader = try await client.leader(name: Array("\(prefix)/proposer".utf8)),
            let victim = keys.firstIndex(of: String(decoding: leader.value, as: UTF8.self))
        else { throw BenchError("devnet-etcd: no validator leads the etcd election") }
        let others = keys.indices.filter { $0 != victim }
        var controls: [ControlClient] = []
        for index in others {
            controls.append(try await ControlClient.connect(path: devnet.layout.controlSocket(index)))
        }
        let opened = controls
        defer { Task { for control in opened { await control.close() } } }
        func top() async -> UInt64 {
            var best: UInt64 = 0
            for control in opened {
                if case .status(let status)? = try? await control.send(.status, timeout: .seconds(5)) {
                    best = max(best, status.acceptedHeight)
                }
            }
            return best
        }
        let before = await top()
        await devnet.kill(victim)
        let killed = ContinuousClock.now
        while ContinuousClock.now - killed < .seconds(60) {
            if await top() > before { return ContinuousClock.now - killed }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw BenchError("devnet-etcd: no block in 60 s after the leader's validator was killed")
    }
}
