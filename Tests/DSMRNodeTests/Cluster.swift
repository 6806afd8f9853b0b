import ChunkStore
import DSMR
import DSMRNode
import DSMRTestSupport
import DemoVM
import Foundation
import Testing

/// Validators on one in-process network, each with its own real store and
/// DemoVM state in a temporary directory, driven round by round: every live
/// node builds a chunk, the leader builds a block from the certificates it
/// holds, and every live node verifies and accepts it (consensus itself is
/// out of scope: the block reaches every live node).
final class Cluster {
    let directory: String
    let network: InProcessNetwork
    let clock = ManualClock(.milliseconds(10_000))
    let schedule: ValidatorSchedule
    let signers: [Ed25519Signer]
    var nodes: [Node?]
    var vms: [DemoVM?]
    var options = NodeOptions()
    /// Accounts with genesis balances, and the next nonce of each.
    let users = (0..<8).map { Fixture.signer(UInt8(100 + $0)) }
    var nonces: [UInt64]
    var accepted: [Block] = []
    /// How long the leader waits for gossiped certificates.
    var gossipWait: Duration = .seconds(30)

    /// The rules every store is made with.
    let rules: Rules

    init(
        signers: [Ed25519Signer] = Fixture.signers, seed: UInt64 = 0, faults: FaultPlan = .none,
        rules: Rules = Fixture.clusterRules
    ) {
        self.rules = rules
        directory = makeTemporaryDirectory("cluster")
        network = InProcessNetwork(seed: seed, faults: faults)
        schedule = ValidatorSchedule(initial: Fixture.validators(signers), rules: rules)
        self.signers = signers
        nodes = Array(repeating: nil, count: signers.count)
        vms = Array(repeating: nil, count: signers.count)
        nonces = Array(repeating: 0, count: users.count)
        // Generous bounds: without faults they are never reached, and on a
        // loaded machine (or beside tests that block the concurrency pool)
        // answers can take seconds.
        options.shareTimeout = .seconds(10)
        options.aggregationDeadline = .seconds(30)
        options.fetchTimeout = .seconds(10)
        options.fetchBackoff = .milliseconds(5)
        options.genesisTime = .milliseconds(10_000)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    var genesis: [(account: [UInt8], balance: UInt64)] { users.map { ($0.publicKey, 1_000_000) } }

    func storePath(_ index: Int) -> String { "\(directory)/node\(index)/store" }

    /// The store configuration of node `index`.
    func configuration(_ index: Int) -> StoreConfiguration {
        Fixture.configuration(storePath(index), signer: signers[index], rules: rules)
    }

    /// Opens node `index` on its store and state (created on first start).
    func start(_ index: Int) async throws {
        network.restart(signers[index].nodeID)
        try FileManager.default.createDirectory(atPath: "\(directory)/node\(index)", withIntermediateDirectories: true)
        let store = try ChunkStore(configuration(index))
        let vm = try DemoVM(path: "\(directory)/node\(index)/state", domain: Fixture.domain, genesis: genesis)
        nodes[index] = try await Node(
            signer: signers[index], store: store, transport: network.transport(for: signers[index].nodeID),
            validators: schedule, clock: clock, assembler: vm, options: options)
        vms[index] = vm
    }

    func startAll() async throws { for index in signers.indices { try await start(index) } }

    /// Takes node `index` down and closes its store and state.
    func stop(_ index: Int) {
        network.crash(signers[index].nodeID)
        nodes[index]?.store.close()
        vms[index]?.close()
        nodes[index] = nil
        vms[index] = nil
    }

    func stopAll() { for index in signers.indices { stop(index) } }

    var live: [Node] { nodes.compactMap { $0 } }

    /// `count` fresh transfers between the users, in every live node's mempool.
    func submitTransfers(_ count: Int) {
        for number in 0..<count {
            let from = number % users.count
            let transfer = try! Transfer.sign(
                sender: users[from], recipient: users[(from + 1 + number / users.count) % users.count].publicKey,
                amount: UInt64(1 + number), nonce: nonces[from], expiry: .max, domain: Fixture.domain)
            nonces[from] += 1
            for node in live { node.mempool.add(PendingTransaction(transfer)) }
        }
    }

    /// One round: the clock moves a slot, every live node builds a chunk,
    /// and `leader` (the first live node by default) builds a block that
    /// every live node in step verifies and accepts. Returns the block
    /// (without certificates when the leader held none and its last block
    /// is at least a slot old), or nil when the leader could build none.
    @discardableResult
    func round(transfers: Int = 0, leader: Int? = nil, tolerateUnavailable: Bool = false) async throws -> Block? {
        clock.advance(by: 1_000)
        submitTransfers(transfers)
        let built = await withTaskGroup(of: BuiltChunk?.self) { group in
            for node in live { group.addTask { try? await node.buildChunk() } }
            var built: [BuiltChunk] = []
            for await chunk in group { if let chunk { built.append(chunk) } }
            return built
        }
        guard let leaderNode = leader.flatMap({ nodes[$0] }) ?? live.first else { return nil }
        // A block may lie at most maxBlockSkew after its parent: after an idle spell chain time catches up in steps.
        let now = min(clock.now().milliseconds, leaderNode.lastAccepted.timestamp + rules.maxBlockSkew)
        let expected = Set(built.compactMap { $0.certificate?.reference.chunkID })
        // Gossip travels asynchronously; give it a moment to arrive (faults may lose it).
        _ = try? await waitFor(gossipWait) {
            let held = Set(try leaderNode.store.certificates(validAt: .milliseconds(now - 1)).map(\.reference.chunkID))
            return expected.isSubset(of: held)
        }
        guard let block = try? leaderNode.buildBlock(parent: leaderNode.lastAccepted, timestamp: now) else {
            return nil
        }
        for node in live where node.lastAccepted.id == block.parent {
            try node.verify(block: block, parent: node.lastAccepted)
            do {
                try await node.accept(block)
            } catch let error as NodeError where tolerateUnavailable && error.code == .chunkUnavailable {
                // Recorded; executed once its chunks can be fetched.
            }
        }
        accepted.append(block)
        return block
    }

    /// Feeds node `index` the accepted blocks it missed, in order.
    func catchUp(_ index: Int) async throws {
        let node = nodes[index]!
        for block in accepted where block.height > node.lastAccepted.height {
            try node.verify(block: block, parent: node.lastAccepted)
            try await node.accept(block)
        }
    }

    /// Every live node's state root at each height up to `height`; fails the test unless all agree.
    func expectAgreement(through height: UInt64, sourceLocation: SourceLocation = #_sourceLocation) throws {
        for h in 0...height {
            let roots = try live.map { try $0.store.stateRoot(at: h) }
            #expect(
                roots.allSatisfy { $0 != nil && $0 == roots[0] }, "height \(h): \(roots)",
                sourceLocation: sourceLocation)
        }
    }
}

/// Waits until `condition` holds; returns false after `deadline`.
func waitFor(_ deadline: Duration, _ condition: () async throws -> Bool) async throws -> Bool {
    let end = ContinuousClock.now + deadline
    while !(try await condition()) {
        if ContinuousClock.now >= end { return false }
        try await Task.sleep(for: .milliseconds(2))
    }
    return true
}
