import ChunkStore
import DSMR
import DSMRNode
import DemoVM

/// Row `node-inprocess`: transfers executed per second by 4 validators in
/// one process (in-memory transport, no faults), each with its own synced
/// store and DemoVM state, against the least Ed25519 work those transfers
/// and their chunks need, measured in the same run.
///
/// The least work is ``Ed25519Work``'s. The baseline is the transfers per
/// second that work alone allows on every core; `ratio` is value / baseline.
enum NodeRow {
    static let validators = 4

    static func run(_ context: BenchContext) async throws -> Row {
        let transfers = context.scale.quick ? 2_000 : 20_000
        let outcome = try await drive(transfers: transfers, context)
        let rate = Double(outcome.executed) / outcome.seconds
        let limit = try Ed25519Work.measure().limit(
            transfers: Double(outcome.executed), chunks: Double(outcome.chunks), cores: Double(Machine.current().cores))
        var row = Row(
            .nodeInProcess, unit: "tx/s", value: rate, baseline: limit, baselineLabel: "Ed25519 work alone")
        row.notes = [
            "\(validators) validators in process, synced stores, \(outcome.executed) transfers in \(outcome.chunks) chunks, "
                + "\(outcome.blocks) blocks"
        ]
        row.extra = [("chunks", Double(outcome.chunks)), ("blocks", Double(outcome.blocks))]
        return row
    }

    struct Outcome {
        var executed = 0
        var chunks = 0
        var blocks = 0
        var seconds = 0.0
    }

    static func drive(transfers: Int, _ context: BenchContext) async throws -> Outcome {
        let domain = SigningDomain(networkID: 9, chainID: try ChainID(bytes: [UInt8](repeating: 9, count: 32)))
        let keys = try (1...validators).map { try Ed25519Signer(seed: [UInt8](repeating: UInt8($0), count: 32)) }
        let users = try (0..<64).map { try Ed25519Signer(seed: [UInt8](repeating: UInt8(100 + $0), count: 32)) }
        let rules = Rules(
            slotDuration: 1_000, chunkLifetime: 10_000, maxChunkBytes: 64 << 10,
            maxUnitsPerWindow: Dimensions(
                bandwidth: 1 << 40, compute: 1 << 40, storageRead: 1 << 40, storageAllocate: 1 << 40,
                storageWrite: 1 << 40),
            validityWindow: 20_000)
        let schedule = ValidatorSchedule(
            initial: keys.map { Validator(publicKey: $0.publicKey, weight: 1) }, rules: rules)
        let network = InProcessNetwork()
        let clock = ManualClock(.milliseconds(10_000))
        var options = NodeOptions()
        options.genesisTime = .milliseconds(10_000)
        let genesis = users.map { ($0.publicKey, UInt64(1) << 40) }
        var nodes: [Node] = []
        var stores: [ChunkStore] = []
        var cleanup: [() -> Void] = []
        defer { cleanup.forEach { $0() } }
        for key in keys {
            var configuration = StoreConfiguration(
                path: try context.workspace.directory("node-store"), networkID: domain.networkID,
                chainID: domain.chainID, nodeID: key.nodeID, rules: rules)
            configuration.signer = key
            let store = try ChunkStore(configuration)
            stores.append(store)
            let vm = try DemoVM(path: try context.workspace.directory("node-state"), domain: domain, genesis: genesis)
            cleanup.append {
                store.close()
                vm.close()
            }
            nodes.append(
                try await Node(
                    signer: key, store: store, transport: network.transport(for: key.nodeID), validators: schedule,
                    clock: clock, assembler: vm, options: options))
        }
        // Signed before the clock starts: clients sign, not validators.
        var pending: [PendingTransaction] = []
        for number in 0..<transfers {
            let sender = users[number % users.count]
            let transfer = try Transfer.sign(
                sender: sender, recipient: users[(number + 1) % users.count].publicKey, amount: 1,
                nonce: UInt64(number / users.count), expiry: .max, domain: domain)
            pending.append(PendingTransaction(transfer))
        }
        var outcome = Outcome()
        let started = ContinuousClock.now
        for transaction in pending { for node in nodes { node.mempool.add(transaction) } }
        while outcome.executed < transfers {
            clock.advance(by: 1_000)
            let built = await withTaskGroup(of: BuiltChunk?.self) { group in
                for node in nodes { group.addTask { try? await node.buildChunk() } }
                var built: [BuiltChunk] = []
                for await chunk in group { if let chunk { built.append(chunk) } }
                return built
            }
            let certified = built.filter { $0.certificate != nil }
            outcome.chunks += certified.count
            let leader = nodes[0]
            let leaderStore = stores[0]
            let now = clock.now().milliseconds
            let expected = Set(certified.compactMap { $0.certificate?.reference.chunkID })
            while !expected.isSubset(
                of: Set(try leaderStore.certificates(validAt: .milliseconds(now - 1)).map(\.reference.chunkID)))
            {
                try await Task.sleep(for: .milliseconds(1))
            }
            // A block without certificates only moves chain time: the row orders only blocks that carry data.
            guard let block = try? leader.buildBlock(parent: leader.lastAccepted, timestamp: now),
                !block.certificates.isEmpty
            else {
                if built.isEmpty {
                    throw BenchError("the node row stalled with \(outcome.executed) of \(transfers) executed")
                }
                continue
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for node in nodes {
                    group.addTask {
                        try node.verify(block: block, parent: node.lastAccepted)
                        try await node.accept(block)
                    }
                }
                try await group.waitForAll()
            }
            outcome.blocks += 1
            outcome.executed += try block.certificates.reduce(0) { sum, certificate in
                sum + (try leaderStore.chunk(certificate.reference)?.chunk.transactions.count ?? 0)
            }
        }
        outcome.seconds = started.duration(to: .now).seconds
        return outcome
    }
}
