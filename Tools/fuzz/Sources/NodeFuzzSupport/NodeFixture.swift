import ChunkStore
import DSMR
import DSMRNode
import Dispatch
import Foundation
import FuzzSupport
import Synchronization

/// One validator's node for the fuzz targets: four validators of equal
/// stake (seeds 1-4, node 0's key signing), the node tests' rules and
/// domain, a real store in a fresh temporary directory, a clock fixed at
/// 12 000 ms and a genesis block at 10 000 ms. Its transport reaches no
/// one and keeps the handler the node registers, so a target calls the
/// chunk server exactly as a peer's message would.
public final class NodeFixture: Sendable {
    /// Validators 1-4; the node is validator 0.
    public static let signers = (1...4).map { try! Ed25519Signer(seed: [UInt8](repeating: UInt8($0), count: 32)) }
    /// The node tests' rules: 1 s slots, 10 s chunk lifetime, 20 s validity window, 20 s epochs.
    public static let rules = Rules(
        slotDuration: 1_000, chunkLifetime: 10_000, maxFutureSlots: 2, maxChunkBytes: 2_000, maxChunksPerSlot: 1,
        rateLimitWindow: 10,
        maxUnitsPerWindow: Dimensions(
            bandwidth: 4_000, compute: 1 << 40, storageRead: 1 << 40, storageAllocate: 1 << 40,
            storageWrite: 1 << 40),
        epochDuration: 20_000, maxBlockSkew: 5_000, validityWindow: 20_000)
    /// The node tests' domain.
    public static let domain = SigningDomain(
        networkID: 77, chainID: try! ChainID(bytes: (0..<32).map { UInt8($0 ^ 0x5A) }))

    /// The node under test.
    public let node: Node
    /// The handler peers reach: the node's chunk server.
    public let handler: any MessageHandler
    /// The genesis block, at 10 000 ms.
    public let genesis: Block
    /// A verified child of genesis at 11 000 ms carrying one certificate (slot 10, validator 1's chunk).
    public let child: Block
    /// The directory the store lives in.
    public let directory: String

    /// Makes the node in a new temporary directory.
    public init() {
        var template = Array("/tmp/dsmr-fuzz-node-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { preconditionFailure("cannot make a temporary directory") }
        directory = String(cString: made)
        removeAtExit(directory)
        var configuration = StoreConfiguration(
            path: directory, networkID: Self.domain.networkID, chainID: Self.domain.chainID,
            nodeID: Self.signers[0].nodeID, rules: Self.rules)
        configuration.signer = Self.signers[0]
        configuration.durability = .noSync
        configuration.mapSize = 64 << 20
        configuration.maxMapSize = 64 << 20
        let store = try! ChunkStore(configuration)
        let transport = CapturingTransport(local: Self.signers[0].nodeID)
        var options = NodeOptions()
        options.genesisTime = .milliseconds(10_000)
        options.shareTimeout = .milliseconds(1)
        options.aggregationDeadline = .milliseconds(1)
        options.fetchTimeout = .milliseconds(1)
        options.fetchRounds = 1
        let schedule = ValidatorSchedule(
            initial: Self.signers.map { Validator(publicKey: $0.publicKey, weight: 10) }, rules: Self.rules)
        let nodeOptions = options
        let node = blocking {
            try! await Node(
                signer: Self.signers[0], store: store, transport: transport, validators: schedule,
                clock: ManualClock(.milliseconds(12_000)), assembler: NullAssembler(), options: nodeOptions)
        }
        self.node = node
        guard let handler = transport.handler.withLock({ $0 }) else { preconditionFailure("no handler registered") }
        self.handler = handler
        genesis = node.lastAccepted
        child = Block(
            parent: genesis.id, height: 1, timestamp: 11_000,
            certificates: [Self.certificate(Self.chunk(by: 1, slot: 10))])
        try! node.verify(block: child, parent: genesis)
    }

    /// A chunk of validator `producer` for `slot` with one transaction.
    public static func chunk(by producer: Int, slot: UInt64, payload: [UInt8] = [1, 2, 3]) -> Chunk {
        try! Chunk.sign(
            producer: signers[producer], beneficiary: signers[producer].nodeID, slot: slot, transactions: [payload],
            domain: domain)
    }

    /// A certificate for `chunk` signed by validators 0-2 (in node-id order).
    public static func certificate(_ chunk: Chunk) -> ChunkCertificate {
        let reference = ChunkReference(chunk: chunk, rules: rules)
        let certificate = try! ChunkCertificate(
            reference: reference, epoch: rules.epoch(ofSlot: chunk.slot), signers: SignerBitSet(indices: [0, 1, 2]),
            signatures: [[], [], []])
        return resigned(certificate)
    }

    /// `certificate` with each signature remade by the fixture validator
    /// at its bit over whatever reference and epoch it names (bits past the
    /// four validators keep their signature), so a mutated field reaches
    /// the checks after the signatures.
    public static func resigned(_ certificate: ChunkCertificate) -> ChunkCertificate {
        let sorted = signers.sorted { $0.nodeID < $1.nodeID }
        let message = SignatureShare.message(for: certificate.reference, epoch: certificate.epoch, domain: domain)
        let signatures = zip(certificate.signers.indices, certificate.signatures).map { index, signature in
            index < sorted.count ? try! sorted[index].sign(message) : signature
        }
        return try! ChunkCertificate(
            reference: certificate.reference, epoch: certificate.epoch, signers: certificate.signers,
            signatures: signatures)
    }

    /// `chunk` signed again by its producer's fixture key, when its producer is a fixture validator.
    public static func resigned(_ chunk: Chunk) -> Chunk {
        guard let producer = signers.first(where: { $0.nodeID == chunk.producer }) else { return chunk }
        return
            (try? Chunk.sign(
                producer: producer, beneficiary: chunk.beneficiary, slot: chunk.slot, transactions: chunk.transactions,
                domain: domain)) ?? chunk
    }
}

/// The fixtures' directories, removed when the process exits (libFuzzer ends with `exit`).
nonisolated(unsafe) private var directoriesToRemove: [String] = []
nonisolated(unsafe) private var removalRegistered = false

private func removeAtExit(_ directory: String) {
    directoriesToRemove.append(directory)
    guard !removalRegistered else { return }
    removalRegistered = true
    atexit {
        for directory in directoriesToRemove { try? FileManager.default.removeItem(atPath: directory) }
    }
}

/// Runs `body` on the concurrency pool and waits for it on this thread.
public func blocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
    let done = DispatchSemaphore(value: 0)
    let result = Mutex<T?>(nil)
    Task {
        let value = await body()
        result.withLock { $0 = value }
        done.signal()
    }
    done.wait()
    return result.withLock { $0! }
}

/// A transport that reaches no one (requests fail at once, gossip is
/// lost) and keeps the handler registered with it.
final class CapturingTransport: Transport {
    let local: NodeID
    let handler = Mutex<(any MessageHandler)?>(nil)

    init(local: NodeID) { self.local = local }

    func request(_ request: [UInt8], to peer: NodeID, timeout: Duration) async throws(TransportError) -> [UInt8] {
        throw TransportError(.unreachable, peer: peer, "the fuzz transport reaches no one")
    }

    func gossip(_ message: [UInt8], to peer: NodeID) async {}

    func register(_ handler: any MessageHandler) { self.handler.withLock { $0 = handler } }
}

/// A state machine whose root never changes.
struct NullAssembler: Assembler {
    func genesisRoot() throws -> StateRoot { .zero }
    func execute(
        parentRoot: StateRoot, parent: Block, timestamp: Int64, height: UInt64, transactions: [[UInt8]]
    ) async throws -> StateRoot { parentRoot }
}

extension NodeFixture {
    /// Closes the store and removes its directory.
    public func discard() {
        node.closeStore()
        try? FileManager.default.removeItem(atPath: directory)
        directoriesToRemove.removeAll { $0 == directory }
    }

    /// Writes each of `seeds` to `directory` (named seed-0, seed-1, ...)
    /// when the environment variable `DSMR_FUZZ_SEEDS` names a directory,
    /// then exits; does nothing otherwise. `run.sh` seeds a new corpus so.
    public static func writeSeedsIfAsked(_ seeds: @autoclosure () -> [[UInt8]]) {
        guard let directory = ProcessInfo.processInfo.environment["DSMR_FUZZ_SEEDS"] else { return }
        for (index, seed) in seeds().enumerated() {
            guard FileManager.default.createFile(atPath: "\(directory)/seed-\(index)", contents: Data(seed)) else {
                preconditionFailure("cannot write a seed to \(directory)")
            }
        }
        exit(0)
    }
}
