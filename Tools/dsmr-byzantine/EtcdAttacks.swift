import DSMR
import DSMRNodeRuntime
import DSMROrdering
import Foundation

/// Attacks on ordering by a validator that holds its own etcd credentials
/// (its user may write block attempts and election keys under its chain's
/// prefix, as every validator's may). Its node otherwise runs honestly:
/// it follows the log, certifies and executes.
struct EtcdAttack: Sendable {
    /// Which attack.
    enum Kind: Sendable {
        /// ``ByzantineBehaviour/etcdInvalid``.
        case invalid
        /// ``ByzantineBehaviour/etcdSquat``.
        case squat
        /// ``ByzantineBehaviour/etcdRewrite``.
        case rewrite
    }

    let runner: NodeRunner
    let kind: Kind

    init(_ runner: NodeRunner, _ kind: Kind) {
        self.runner = runner
        self.kind = kind
    }

    func run() async {
        guard let validated = try? runner.configuration.validated(), let etcd = validated.etcd,
            let client = try? EtcdClient(endpoints: etcd.endpoints, security: etcd.security)
        else {
            report("no etcd ordering configured: nothing to attack")
            return
        }
        let prefix = EtcdOrdering.prefix(for: validated.domain)
        report("attacking the etcd ordering under \(prefix) as \(etcd.security.credentials?.user ?? "no user")")
        let sign: @Sendable ([UInt8]) -> [UInt8] = { bytes in
            (try? BlockAttempt(signingBytes: bytes, by: validated.signer, in: validated.domain).encoded) ?? bytes
        }
        switch kind {
        case .invalid: await publishInvalidAttempts(client, prefix, domain: validated.domain, sign: sign)
        case .squat: await holdTheLeadership(client, prefix, value: Array(runner.nodeID.hex.utf8))
        case .rewrite: await rewriteHistory(client, prefix, sign: sign)
        }
        await client.shutdown()
    }

    /// How many heights past the next one it also publishes an attempt at:
    /// written at once, before the leader can have reached them, they come
    /// before the chosen block there even when its node follows the log
    /// late (a busy machine).
    static let heightsAhead: UInt64 = 2

    /// Each time its node accepts a block, publishes at once (racing the
    /// leader) attempts that must not be followed. The first few writes
    /// go out together: at the next height, an empty block that would
    /// verify, signed by no one (what etcd credentials alone could write),
    /// and bytes that are no block, signed with its key; at each of the
    /// ``heightsAhead`` heights after it, a block on its node's tip (the
    /// wrong parent there), signed. Then, one after another at the next
    /// height, signed: a block on another parent, one naming another
    /// height, one not after its parent, and a block of its own built
    /// honestly then given far-future values (when it can build one); and
    /// the empty block signed by a key outside the validator set. What it
    /// signs is evidence against it.
    func publishInvalidAttempts(
        _ client: EtcdClient, _ prefix: String, domain: SigningDomain, sign: @Sendable ([UInt8]) -> [UInt8]
    ) async {
        let outsider = Ed25519Signer.generate()
        let nodeID = runner.nodeID.hex.prefix(16)
        var attacked: UInt64 = .max
        var published = 0
        while !Task.isCancelled, !runner.isStopping {
            let tip = runner.lastAccepted
            guard tip.height != attacked else {
                try? await Task.sleep(for: .milliseconds(5))
                continue
            }
            attacked = tip.height
            let before = published
            let next = tip.height + 1
            let after = tip.timestamp + 1
            let valid = Block(parent: tip.id, height: next, timestamp: after, certificates: [])
            var first: [(height: UInt64, value: [UInt8])] = [
                (next, valid.encoded()), (next, sign((0..<64).map { _ in UInt8.random(in: 0...255) })),
            ]
            for height in next + 1...next + Self.heightsAhead {
                first.append(
                    (height, sign(Block(parent: tip.id, height: height, timestamp: after, certificates: []).encoded())))
            }
            var then: [[UInt8]] = [
                Block(parent: tip.parent, height: next, timestamp: after, certificates: []).encoded(),
                Block(parent: tip.id, height: next + 1, timestamp: after, certificates: []).encoded(),
                Block(parent: tip.id, height: next, timestamp: tip.timestamp, certificates: []).encoded(),
            ].map(sign)
            if let built = try? runner.buildOrdered(timestamp: after, maxBytes: 1 << 20) {
                then.append(sign(FarFuture.alter(built).encoded()))
            }
            if let attempt = try? BlockAttempt(signing: valid, by: outsider, in: domain) {
                then.append(attempt.encoded)
            }
            let keys = (first.map(\.height) + then.map { _ in next }).enumerated().map { index, height in
                Array("\(prefix)/blocks/\(String(format: "%020llu", height))/\(nodeID)-bad\(index)-".utf8)
                    + Array(String(UInt32.random(in: 0...UInt32.max)).utf8)
            }
            published += await withTaskGroup(of: Int.self) { group in
                for (key, attempt) in zip(keys, first) {
                    group.addTask { (try? await client.createIfAbsent(key, attempt.value))?.created == true ? 1 : 0 }
                }
                return await group.reduce(0, +)
            }
            for (key, value) in zip(keys.dropFirst(first.count), then)
            where (try? await client.createIfAbsent(key, value))?.created == true {
                published += 1
            }
            if tip.height % 20 == 0 || (before == 0 && published > 0) {
                report("published \(published) invalid attempts through height \(next)")
            }
        }
    }

    /// Campaigns for the leadership and, once elected, holds it (renewing
    /// its lease) without ever proposing or resigning; campaigns again
    /// should the lease be lost.
    func holdTheLeadership(_ client: EtcdClient, _ prefix: String, value: [UInt8]) async {
        let election = Array("\(prefix)/proposer".utf8)
        while !Task.isCancelled, !runner.isStopping {
            do {
                let lease = try await client.grantLease(seconds: 2)
                report("campaigning on lease \(lease)")
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        while true {
                            try await Task.sleep(for: .milliseconds(500))
                            guard try await client.keepAlive(lease: lease) > 0 else {
                                throw EtcdError(.status, "lease \(lease) expired")
                            }
                        }
                    }
                    group.addTask {
                        let leader = try await client.campaign(
                            name: election, lease: lease, value: value, wait: .seconds(3_600))
                        report("leading the election at revision \(leader.revision); proposing nothing")
                        while true { try await Task.sleep(for: .seconds(3_600)) }
                    }
                    _ = try await group.next()
                    group.cancelAll()
                }
            } catch {
                if Task.isCancelled { return }
                report("holding the leadership failed (\(error)); campaigning again")
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    /// Each time its node accepts a block at height h, writes over every
    /// attempt at h − 1 with another block that verifies there (on the same
    /// parent, a millisecond later, no certificate; signed with its key, as
    /// an attempt every validator would follow), and deletes every
    /// attempt at h − 2: a validator that reads those heights late must
    /// still take the blocks everyone took.
    func rewriteHistory(_ client: EtcdClient, _ prefix: String, sign: @Sendable ([UInt8]) -> [UInt8]) async {
        var attacked: UInt64 = 0
        var rewritten = 0
        var deleted = 0
        while !Task.isCancelled, !runner.isStopping {
            let tip = runner.lastAccepted
            guard tip.height > attacked, tip.height >= 3 else {
                try? await Task.sleep(for: .milliseconds(5))
                continue
            }
            attacked = tip.height
            func heightPrefix(_ height: UInt64) -> [UInt8] {
                Array("\(prefix)/blocks/\(String(format: "%020llu", height))/".utf8)
            }
            if let below = try? runner.acceptedBlock(at: tip.height - 1),
                let parent = try? runner.acceptedBlock(at: tip.height - 2),
                let attempts = try? await client.range(from: heightPrefix(below.height))
            {
                let other = Block(
                    parent: parent.id, height: below.height,
                    timestamp: below.timestamp == parent.timestamp + 1 ? parent.timestamp + 2 : parent.timestamp + 1,
                    certificates: [])
                for attempt in attempts.keyValues
                where (try? await client.put(attempt.key, sign(other.encoded()))) != nil {
                    rewritten += 1
                }
            }
            let gone = heightPrefix(tip.height - 2)
            if (try? await client.deleteRange(from: gone, to: EtcdClient.prefixEnd(gone)))?.deleted == true {
                deleted += 1
            }
            if tip.height % 20 == 0 {
                report("wrote over \(rewritten) attempts and deleted \(deleted) heights through height \(tip.height)")
            }
        }
    }

    func report(_ line: String) {
        FileHandle.standardError.write(Data("dsmr-byzantine: \(line)\n".utf8))
    }
}
