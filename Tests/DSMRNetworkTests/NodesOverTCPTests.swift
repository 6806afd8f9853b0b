import ChunkStore
import DSMR
import DSMRNetwork
import DSMRNode
import DSMRTestSupport
import DemoVM
import Foundation
import Testing

/// The real node core on four stores, talking over TCP on 127.0.0.1: chunks
/// are certified with shares asked over the network, certificates travel
/// as gossip, and executing a block fetches the chunks a node lacks.
@Suite("Nodes over TCP")
struct NodesOverTCPTests {
    static let rules = {
        var rules = Rules(
            slotDuration: 1_000, chunkLifetime: 10_000, maxFutureSlots: 2, maxChunkBytes: 8_000, maxChunksPerSlot: 1,
            rateLimitWindow: 10,
            maxUnitsPerWindow: Dimensions(
                bandwidth: 40_000, compute: 1 << 40, storageRead: 1 << 40, storageAllocate: 1 << 40,
                storageWrite: 1 << 40),
            epochDuration: 20_000, maxBlockSkew: 5_000, validityWindow: 20_000)
        return rules
    }()

    @Test func fourNodesExecuteTransfersAndAgreeOnStateRoots() async throws {
        let scratch = try TemporaryDirectory("dsmr-tcp")
        defer { scratch.remove() }
        let directory = scratch.path
        let clock = ManualClock(.milliseconds(10_000))
        let schedule = ValidatorSchedule(
            initial: Keys.signers.map { Validator(publicKey: $0.publicKey, weight: 10) }, rules: Self.rules)
        let users = (0..<8).map { Keys.signer(UInt8(100 + $0)) }
        let genesis = users.map { (account: $0.publicKey, balance: UInt64(1_000_000)) }
        var options = NodeOptions()
        options.shareTimeout = .seconds(10)
        options.aggregationDeadline = .seconds(30)
        options.fetchTimeout = .seconds(10)
        options.genesisTime = .milliseconds(10_000)

        var transports: [TCPTransport] = []
        var nodes: [Node] = []
        var vms: [DemoVM] = []
        for (index, signer) in Keys.signers.enumerated() {
            var configuration = TCPTransportConfiguration(
                signer: signer, domain: Keys.domain, limits: DecodingLimits(rules: Self.rules)
            ) { try schedule.validators(epoch: Self.rules.epoch(at: clock.now().milliseconds)) }
            configuration.logger.logLevel = .critical
            transports.append(try await TCPTransport(configuration))
            let path = "\(directory)/node\(index)"
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            var storeConfiguration = StoreConfiguration(
                path: "\(path)/store", networkID: Keys.domain.networkID, chainID: Keys.domain.chainID,
                nodeID: signer.nodeID, rules: Self.rules)
            storeConfiguration.signer = signer
            storeConfiguration.mapSize = 1 << 22
            let vm = try DemoVM(path: "\(path)/state", domain: Keys.domain, genesis: genesis)
            vms.append(vm)
            nodes.append(
                try await Node(
                    signer: signer, store: try ChunkStore(storeConfiguration), transport: transports[index],
                    validators: schedule, clock: clock, assembler: vm, options: options))
        }
        connect(transports)

        var nonces = [UInt64](repeating: 0, count: users.count)
        var submitted = 0
        for round in 0..<6 {
            clock.advance(by: 1_000)
            for number in 0..<12 {
                let from = number % users.count
                let transfer = try Transfer.sign(
                    sender: users[from], recipient: users[(from + 1) % users.count].publicKey, amount: 1,
                    nonce: nonces[from], expiry: .max, domain: Keys.domain)
                nonces[from] += 1
                submitted += 1
                for node in nodes { node.mempool.add(PendingTransaction(transfer)) }
            }
            let built = await withTaskGroup(of: BuiltChunk?.self) { group in
                for node in nodes { group.addTask { try? await node.buildChunk() } }
                var built: [BuiltChunk] = []
                for await chunk in group { if let chunk { built.append(chunk) } }
                return built
            }
            let certified = Set(built.compactMap { $0.certificate?.reference.chunkID })
            #expect(!certified.isEmpty, "round \(round): no chunk certified")
            // The leader rotates; it waits for the certificates gossiped to it.
            let leader = nodes[round % nodes.count]
            let now = clock.now().milliseconds
            let gathered = try await eventually {
                let held = try leader.store.certificates(validAt: .milliseconds(now - 1)).map(\.reference.chunkID)
                return certified.isSubset(of: Set(held))
            }
            #expect(gathered, "round \(round): certificates did not reach the leader")
            let block = try leader.buildBlock(parent: leader.lastAccepted, timestamp: now)
            for node in nodes {
                try node.verify(block: block, parent: node.lastAccepted)
                try await node.accept(block)
            }
        }

        let height = nodes[0].lastAccepted.height
        #expect(height == 6)
        for h in 0...height {
            let roots = try nodes.map { try $0.store.stateRoot(at: h) }
            #expect(roots.allSatisfy { $0 != nil && $0 == roots[0] }, "height \(h): \(roots)")
        }
        // Every transfer was executed: each sender's nonce moved past all it sent.
        for vm in vms {
            let executed = try users.map { try vm.account($0.publicKey).nonce }
            #expect(executed == nonces)
        }
        #expect(submitted == 72)
        await shutdownAll(transports)
        for (node, vm) in zip(nodes, vms) {
            node.store.close()
            vm.close()
        }
    }
}
