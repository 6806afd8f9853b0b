import DSMR
import DSMRDevnet
import DSMRNodeRuntime
import DSMROrdering
import DSMRTestSupport
import Foundation
import Logging
import Synchronization
import Testing

/// ``EtcdOrdering`` over a real etcd member with validators whose chains
/// are empty blocks in memory: pruning and compaction of the log, and
/// attempts rewritten or deleted after they were accepted.
@Suite("etcd log pruning", .serialized)
struct EtcdPruningTests {
    /// A chain of empty blocks in memory: a block verifies when its parent is the tip.
    final class MemoryChain: OrderedChain {
        let rules = Rules.default
        let nodeID: NodeID
        let validatorIndex: Int
        let blocks = Mutex([Block(parent: .zero, height: 0, timestamp: 0, certificates: [])])

        let signer: Ed25519Signer

        init(index: Int) throws {
            signer = try EtcdPruningTests.signer(index)
            nodeID = signer.nodeID
            validatorIndex = index
        }

        var lastAccepted: Block { blocks.withLock { $0[$0.count - 1] } }
        var height: UInt64 { lastAccepted.height }

        func acceptedBlock(at height: UInt64) throws -> Block? {
            blocks.withLock { height < $0.count ? $0[Int(height)] : nil }
        }

        func buildOrdered(timestamp: Int64, maxBytes: Int) throws -> Block? {
            let tip = lastAccepted
            return Block(parent: tip.id, height: tip.height + 1, timestamp: timestamp, certificates: [])
        }

        func acceptOrdered(_ block: Block) async throws -> OrderedOutcome {
            blocks.withLock { blocks in
                if block.height < blocks.count {
                    return blocks[Int(block.height)].id == block.id ? .accepted : .invalid("another block held")
                }
                guard block.height == blocks.count, block.parent == blocks[blocks.count - 1].id else {
                    return .invalid("wrong parent")
                }
                blocks.append(block)
                return .accepted
            }
        }
    }

    /// Validator `index`'s key (of three).
    static func signer(_ index: Int) throws -> Ed25519Signer {
        try Ed25519Signer(seed: [UInt8](repeating: UInt8(index + 1), count: 32))
    }

    /// The three validators' public keys by node id.
    static func validatorKeys() throws -> [NodeID: [UInt8]] {
        Dictionary(
            uniqueKeysWithValues: try (0..<3).map {
                let key = try signer($0)
                return (key.nodeID, key.publicKey)
            })
    }

    /// The chain the attempts are signed for.
    static let domain = SigningDomain(networkID: 1, chainID: .zero)

    /// A validator running ``EtcdOrdering`` on its chain until stopped.
    final class Validator: Sendable {
        let chain: MemoryChain
        let warnings = Mutex<[String]>([])
        let running = Mutex<Task<Void, Never>?>(nil)

        init(index: Int) throws { chain = try MemoryChain(index: index) }

        func start(_ endpoints: [String], _ options: EtcdOrderingOptions) throws {
            let logger = Logger(label: "validator-\(chain.validatorIndex)") { _ in RecordingHandler(self) }
            let ordering = try EtcdOrdering(
                endpoints: endpoints, prefix: EtcdPruningTests.prefix, signer: chain.signer,
                domain: EtcdPruningTests.domain, validators: try EtcdPruningTests.validatorKeys(), options: options,
                logger: logger)
            let chain = self.chain
            running.withLock { $0 = Task { await ordering.run(chain) } }
        }

        func stop() async {
            guard let task = running.withLock({ $0 }) else { return }
            task.cancel()
            await task.value
            running.withLock { $0 = nil }
        }
    }

    /// Hands warnings to their validator.
    struct RecordingHandler: LogHandler {
        let validator: Validator
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .warning

        init(_ validator: Validator) { self.validator = validator }

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            validator.warnings.withLock { $0.append("\(event.message) \(event.metadata ?? [:])") }
        }
    }

    static let prefix = "dsmr/test/prune"
    var blocksPrefix: [UInt8] { Array("\(Self.prefix)/blocks/".utf8) }

    func heights(_ client: EtcdClient) async throws -> [UInt64: [EtcdKeyValue]] {
        let log = try await client.range(from: blocksPrefix)
        return Dictionary(grouping: log.keyValues) { kv in
            let parts = kv.keyText.split(separator: "/")
            return UInt64(parts[parts.count - 2]) ?? .max
        }
    }

    func waitForHeight(_ validators: [Validator], _ height: UInt64, _ what: String) async throws {
        // Each height is a few etcd writes, each synced to disk: in a full parallel run on two
        // cores a height can take half a second, so the 175 heights of the pruning test take minutes.
        try await waitUntil(what, timeout: .seconds(240), pollingEvery: .milliseconds(20)) {
            validators.allSatisfy { $0.chain.height >= height }
        }
    }

    /// Three validators with a window of 50 heights pruned every 20 blocks:
    /// heights below the window are deleted, every height inside it is
    /// kept, etcd's history is compacted but not past the oldest kept
    /// attempt, a validator stopped inside the window catches up by
    /// replaying the history (no compacted read), and all chains agree.
    @Test func theLogIsPrunedBelowTheWindowAndAValidatorInsideItCatchesUp() async throws {
        try await withEtcdMember("etcd-prune") { client, cluster in
            let endpoints = cluster.endpoints
            var options = EtcdOrderingOptions()
            options.retainHeights = 50
            options.pruneEvery = 20
            options.rotateBlocks = 25
            let validators = try (0..<3).map { try Validator(index: $0) }
            for validator in validators { try validator.start(endpoints, options) }
            try await waitForHeight(validators, 100, "the chain reaches height 100")
            let late = validators[2]
            await late.stop()
            let stoppedAt = late.chain.height
            try await waitForHeight(Array(validators[0..<2]), stoppedAt + 30, "the chain moves 30 heights on")
            for validator in validators[0..<2] { await validator.stop() }
            let tip = validators.map(\.chain.height).max() ?? 0

            let log = try await heights(client)
            let lowest = log.keys.min() ?? 0
            // The last round (at the last multiple of 20, or the one before when the leader
            // stopped before pruning) deleted the heights more than 50 below it, and only those.
            let round = tip / 20 * 20
            #expect(lowest == round - 50 || lowest == round - 70, "lowest height kept \(lowest), tip \(tip)")
            #expect(lowest <= stoppedAt, "the stopped validator (at \(stoppedAt)) fell out of the window")
            for height in lowest...tip { #expect(log[height] != nil, "height \(height) is missing") }
            // Compacted: an old revision is refused, but not past the oldest attempt kept.
            await #expect {
                _ = try await client.range(from: blocksPrefix, revision: 2)
            } throws: { ($0 as? EtcdError)?.code == .compacted }
            let oldest = log.values.joined().map(\.createRevision).min() ?? 0
            _ = try await client.range(from: blocksPrefix, revision: oldest)

            try late.start(endpoints, options)
            try await waitForHeight([late], tip, "the restarted validator catches up")
            for validator in validators[0..<2] { try validator.start(endpoints, options) }
            try await waitForHeight(validators, tip + 45, "the chain moves on with all three")
            for validator in validators { await validator.stop() }
            let compactedReads = late.warnings.withLock { $0 }.filter { $0.contains("compacted") }
            #expect(compactedReads.isEmpty, "\(compactedReads)")
            let common = validators.map(\.chain.height).min() ?? 0
            let first = try (1...common).map { try validators[0].chain.acceptedBlock(at: $0)?.id }
            for validator in validators[1...] {
                #expect(try (1...common).map { try validator.chain.acceptedBlock(at: $0)?.id } == first)
            }
            let after = try await heights(client)
            #expect((after.keys.min() ?? 0) > lowest, "no round pruned after the restart")
            print(
                "pruned log: heights \(lowest)...\(tip) kept at the stop (validator 2 stopped at \(stoppedAt)), "
                    + "the oldest kept attempt's revision \(oldest) still readable, revision 2 compacted; after the restart heights "
                    + "\(after.keys.min() ?? 0)...\(after.keys.max() ?? 0) kept, common height \(common)")
        }
    }

    /// A validator stopped at some height; then the attempts that made its
    /// tip and the two blocks after it are deleted or overwritten with
    /// another block that verifies (a credential holder's put keeps the
    /// create revision): once restarted it still accepts the blocks the
    /// others accepted, starting from the block below its tip.
    @Test func aValidatorRestartedAfterAcceptedAttemptsWereRewrittenOrDeletedStillAgrees() async throws {
        try await withEtcdMember("etcd-prune") { client, cluster in
            let endpoints = cluster.endpoints
            var options = EtcdOrderingOptions()
            options.pruneEvery = 0
            let validators = try (0..<3).map { try Validator(index: $0) }
            for validator in validators { try validator.start(endpoints, options) }
            try await waitForHeight(validators, 10, "the chain reaches height 10")
            let late = validators[2]
            await late.stop()
            let stoppedAt = late.chain.height
            try await waitForHeight(Array(validators[0..<2]), stoppedAt + 10, "the chain moves on")
            for validator in validators[0..<2] { await validator.stop() }
            let log = try await heights(client)
            let limits = DecodingLimits(rules: .default)
            for height in [stoppedAt, stoppedAt + 1, stoppedAt + 2] {
                // The attempt that made the block: the first at its height that decodes to it.
                let accepted = try #require(try validators[0].chain.acceptedBlock(at: height))
                let attempt = try #require(
                    log[height]?.sorted { $0.createRevision < $1.createRevision }.first {
                        (try? BlockAttempt(decoding: $0.value, maxBlockBytes: limits.maxBlockBytes))?.blockID
                            == accepted.id
                    })
                if height == stoppedAt + 1 {
                    let parent = try #require(try validators[0].chain.acceptedBlock(at: height - 1))
                    let other = Block(
                        parent: parent.id, height: height, timestamp: accepted.timestamp + 1, certificates: [])
                    // Another validator's signature: an attempt every validator would follow, had it come first.
                    let signed = try BlockAttempt(signing: other, by: try Self.signer(1), in: Self.domain)
                    try await client.put(attempt.key, signed.encoded)
                } else {
                    _ = try await client.deleteRange(from: attempt.key, to: attempt.key + [0])
                }
            }
            try late.start(endpoints, options)
            for validator in validators[0..<2] { try validator.start(endpoints, options) }
            try await waitForHeight(validators, stoppedAt + 15, "all three move on")
            for validator in validators { await validator.stop() }
            let common = validators.map(\.chain.height).min() ?? 0
            let first = try (1...common).map { try validators[0].chain.acceptedBlock(at: $0)?.id }
            #expect(try (1...common).map { try late.chain.acceptedBlock(at: $0)?.id } == first)
            let warnings = late.warnings.withLock { $0 }
            #expect(warnings.contains { $0.contains("following from a block below it") }, "\(warnings)")
        }
    }
}
