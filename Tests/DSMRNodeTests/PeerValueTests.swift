import ChunkStore
import DSMR
import DSMRNode
import DSMRTestSupport
import Synchronization
import Testing

/// Values a peer chooses (a proposer's block, a producer's chunk, a gossiped
/// certificate) never make the node trap, never grow a table without bound,
/// and never pass verification outside the bounds a chunk server signs within.
@Suite struct PeerValueTests {
    /// A block on `parent` at `timestamp` carrying `certificates`.
    func block(_ parent: Block, at timestamp: Int64, _ certificates: [ChunkCertificate]) -> Block {
        Block(parent: parent.id, height: parent.height + 1, timestamp: timestamp, certificates: certificates)
    }

    /// Node 0 of a started cluster under `rules`.
    func node(_ cluster: Cluster) async throws -> Node {
        try await cluster.startAll()
        return try #require(cluster.nodes[0])
    }

    /// The fixture's cluster rules with hour-long epochs, so that far slots share the block's epoch.
    static func rules(maxFutureSlots: UInt64 = 2) -> Rules {
        var rules = Fixture.clusterRules
        rules.epochDuration = 3_600_000
        rules.maxFutureSlots = maxFutureSlots
        return rules
    }

    // MARK: Traps

    @Test func certificateOfTheLastEpochIsRefusedWithoutATrap() async throws {
        let cluster = Cluster()
        defer { cluster.stopAll() }
        let node = try await node(cluster)
        let genesis = node.lastAccepted
        var reference = ChunkReference(chunk: Fixture.chunk(Fixture.signers[1], slot: 10), rules: Fixture.rules)
        reference.expiry = .max
        // No signature is needed: the epoch was added to before any signature was checked.
        let forged = try ChunkCertificate(
            reference: reference, epoch: .max, signers: SignerBitSet(indices: [0, 1, 2]),
            signatures: Array(repeating: [UInt8](repeating: 1, count: 64), count: 3))
        #expect(verificationCode(node, block(genesis, at: 11_000, [forged]), parent: genesis) == .wrongEpoch)
        #expect(await replyCode { try await node.server.receive(forged) } == .invalid)
    }

    @Test func verifyAndBuildDoNotTrapAtTheStartOfTime() async throws {
        let cluster = Cluster()
        cluster.options.genesisTime = .milliseconds(.min + 1)
        defer { cluster.stopAll() }
        let node = try await node(cluster)
        let genesis = node.lastAccepted
        #expect(genesis.timestamp == .min + 1)
        // The look-back over the validity window starts before the start of time.
        let certificate = Fixture.certificate(Fixture.chunk(Fixture.signers[1], slot: 10))
        #expect(
            verificationCode(node, block(genesis, at: .min + 2, [certificate]), parent: genesis) == .expiryBeyondWindow)
        do {
            _ = try node.buildBlock(parent: genesis, timestamp: .min + 2)
            Issue.record("built a block without certificates less than a slot after its parent")
        } catch let error as NodeError {
            #expect(error.code == .noAvailableCertificates)
        }
        let empty = try node.buildBlock(parent: genesis, timestamp: .min + 1_001)
        #expect(verificationCode(node, empty, parent: genesis) == nil)
    }

    @Test func blockAtTheEndOfTimeIsRefusedWithoutATrap() async throws {
        let cluster = Cluster()
        defer { cluster.stopAll() }
        let node = try await node(cluster)
        let genesis = node.lastAccepted
        let last = Block(parent: genesis.id, height: .max, timestamp: .max, certificates: [])
        #expect(verificationCode(node, last, parent: genesis) == .wrongHeight)
        let child = Block(parent: last.id, height: 0, timestamp: .max, certificates: [])
        #expect(verificationCode(node, child, parent: last) == .wrongHeight)
        #expect(verificationCode(node, block(genesis, at: .max, []), parent: genesis) == .timestampTooFarAhead)
    }

    // MARK: Bounds the chunk server checks before it signs

    @Test func certificateWhoseExpiryIsNotItsSlotsIsRefused() async throws {
        let cluster = Cluster()
        defer { cluster.stopAll() }
        let node = try await node(cluster)
        let genesis = node.lastAccepted
        var reference = ChunkReference(chunk: Fixture.chunk(Fixture.signers[1], slot: 10), rules: Fixture.rules)
        // Signed by a quorum, but no honest validator signs an expiry other than its slot's.
        reference.expiry += 1
        let longer = Fixture.certificate(reference)
        #expect(verificationCode(node, block(genesis, at: 11_000, [longer]), parent: genesis) == .expiryNotOfSlot)
        reference.expiry -= 2
        let shorter = Fixture.certificate(reference)
        #expect(verificationCode(node, block(genesis, at: 11_000, [shorter]), parent: genesis) == .expiryNotOfSlot)
    }

    @Test func certificateExpiringPastTheParentsValidityWindowIsRefused() async throws {
        let rules = Self.rules(maxFutureSlots: 20)
        let cluster = Cluster(rules: rules)
        defer { cluster.stopAll() }
        let node = try await node(cluster)
        let genesis = node.lastAccepted
        // The parent is at 10 000 and the window 20 000 ms: slot 20 expires at 30 000, slot 21 at 31 000.
        let inside = Fixture.certificate(Fixture.chunk(Fixture.signers[1], slot: 20), rules: rules)
        let outside = Fixture.certificate(Fixture.chunk(Fixture.signers[2], slot: 21), rules: rules)
        #expect(verificationCode(node, block(genesis, at: 11_000, [outside]), parent: genesis) == .expiryBeyondWindow)
        #expect(verificationCode(node, block(genesis, at: 11_000, [inside]), parent: genesis) == nil)
    }

    @Test func certificateOfASlotTooFarAheadOfTheBlockIsRefusedAndWaitsForALaterBlock() async throws {
        let rules = Self.rules()
        let cluster = Cluster(rules: rules)
        defer { cluster.stopAll() }
        let node = try await node(cluster)
        let genesis = node.lastAccepted
        // At 11 000 (slot 11) a block carries slots up to 13.
        let near = Fixture.certificate(Fixture.chunk(Fixture.signers[1], slot: 13), rules: rules)
        let far = Fixture.certificate(Fixture.chunk(Fixture.signers[2], slot: 14), rules: rules)
        #expect(verificationCode(node, block(genesis, at: 11_000, [far]), parent: genesis) == .slotTooFarAhead)
        #expect(verificationCode(node, block(genesis, at: 11_000, [near]), parent: genesis) == nil)
        try await node.store.addCertificate(near)
        try await node.store.addCertificate(far)
        #expect(try node.buildBlock(parent: genesis, timestamp: 11_000).certificates == [near])
        #expect(try node.buildBlock(parent: genesis, timestamp: 12_000).certificates == [near, far])
    }

    @Test func certificateOfAProducerOutsideTheSetIsRefused() async throws {
        let cluster = Cluster()
        defer { cluster.stopAll() }
        let node = try await node(cluster)
        let genesis = node.lastAccepted
        let outsiders = Fixture.certificate(Fixture.chunk(Fixture.outsider, slot: 10))
        #expect(
            verificationCode(node, block(genesis, at: 11_000, [outsiders]), parent: genesis) == .producerNotAValidator)
    }

    @Test func blockPastTheDecodingLimitsIsRefused() async throws {
        let cluster = Cluster()
        defer { cluster.stopAll() }
        let node = try await node(cluster)
        let genesis = node.lastAccepted
        let limits = DecodingLimits(rules: cluster.rules)
        let good = Fixture.certificate(Fixture.chunk(Fixture.signers[1], slot: 10))
        let many = Array(repeating: good, count: limits.maxCertificatesPerBlock + 1)
        #expect(verificationCode(node, block(genesis, at: 11_000, many), parent: genesis) == .tooLarge)
        let huge = try ChunkCertificate(
            reference: good.reference, epoch: good.epoch, signers: SignerBitSet(indices: [0]),
            signatures: [[UInt8](repeating: 1, count: limits.maxBlockBytes)])
        #expect(verificationCode(node, block(genesis, at: 11_000, [huge]), parent: genesis) == .tooLarge)
    }

    // MARK: Gossip and share requests

    /// A validator-set provider that records every epoch asked for.
    final class CountingProvider: ValidatorSetProvider {
        let inner: ValidatorSchedule
        let asked = Mutex<[UInt64]>([])
        init(_ inner: ValidatorSchedule) { self.inner = inner }
        func validators(epoch: UInt64) throws -> ValidatorSet {
            asked.withLock { $0.append(epoch) }
            return try inner.validators(epoch: epoch)
        }
    }

    @Test func farEpochsOfGossipAndShareRequestsNeverReachTheValidatorSetProvider() async throws {
        try await withTemporaryDirectory { path in
            let store = try ChunkStore(Fixture.configuration(path, signer: Fixture.signers[0]))
            let provider = CountingProvider(ValidatorSchedule(initial: Fixture.validators(), rules: Fixture.rules))
            let server = ChunkServer(
                store: store, validators: provider, chainTime: try ChainTimeSource(store: store),
                clock: ManualClock())
            for slot: UInt64 in [1 << 20, 1 << 40, .max] {
                let chunk = Fixture.chunk(Fixture.signers[1], slot: slot)
                #expect(await replyCode { try await server.signatureShare(for: chunk) } == .tooFarInFuture)
                let reference = ChunkReference(chunk: chunk, rules: Fixture.rules)
                let certificate = try ChunkCertificate(
                    reference: reference, epoch: Fixture.rules.epoch(ofSlot: slot),
                    signers: SignerBitSet(indices: [0, 1, 2]),
                    signatures: Array(repeating: [UInt8](repeating: 1, count: 64), count: 3))
                #expect(await replyCode { try await server.receive(certificate) } == .tooFarInFuture)
            }
            #expect(provider.asked.withLock { $0 }.isEmpty)
        }
    }

    @Test func gossipedCertificateMustExpireWithinWhatTheNextBlockCanCarry() async throws {
        try await withTemporaryDirectory { path in
            let (store, server) = try makeServer(path)
            // Chain time 0: the next block lies at most 5 000 ms on and carries expiries up to 20 000 ms after
            // its parent, so expiries up to 25 000 (slot 15) are kept.
            let last = Fixture.certificate(Fixture.chunk(Fixture.signers[1], slot: 15))
            let beyond = Fixture.certificate(Fixture.chunk(Fixture.signers[1], slot: 16))
            #expect(await replyCode { try await server.receive(beyond) } == .tooFarInFuture)
            #expect(try store.certificate(for: beyond.reference) == nil)
            #expect(try await server.receive(last))
        }
    }

    @Test func gossipedCertificateWhoseEpochIsNotItsSlotsIsRefusedBeforeAnyLookup() async throws {
        try await withTemporaryDirectory { path in
            let store = try ChunkStore(Fixture.configuration(path, signer: Fixture.signers[0]))
            let provider = CountingProvider(ValidatorSchedule(initial: Fixture.validators(), rules: Fixture.rules))
            let server = ChunkServer(
                store: store, validators: provider, chainTime: try ChainTimeSource(store: store),
                clock: ManualClock())
            let good = Fixture.certificate(Fixture.chunk(Fixture.signers[1], slot: 2))
            for epoch: UInt64 in [1, 1 << 40, .max] {
                let relabelled = try ChunkCertificate(
                    reference: good.reference, epoch: epoch, signers: good.signers, signatures: good.signatures)
                #expect(await replyCode { try await server.receive(relabelled) } == .invalid)
            }
            #expect(provider.asked.withLock { $0 }.isEmpty)
        }
    }

    // MARK: Bounded tables

    @Test func validatorScheduleKeepsAtMostItsBoundOfFormedSets() throws {
        let schedule = ValidatorSchedule(initial: Fixture.validators(), rules: Fixture.rules, cachedSets: 4)
        for epoch: UInt64 in 0..<100 { _ = try schedule.validators(epoch: epoch * 7_919) }
        #expect(schedule.cachedCount == 4)
        // A set dropped from the cache is formed again, the same.
        #expect(try schedule.validators(epoch: 0) == ValidatorSet(epoch: 0, validators: Fixture.validators()))
        #expect(schedule.cachedCount == 4)
    }

    @Test func verifiedBlocksKeptAreBoundedAndTheFirstVerifiedIsForgottenFirst() async throws {
        let cluster = Cluster()
        cluster.options.maxProcessingBlocks = 2
        defer { cluster.stopAll() }
        let node = try await node(cluster)
        let genesis = node.lastAccepted
        let certificates = (1...3).map { Fixture.certificate(Fixture.chunk(Fixture.signers[$0], slot: 10)) }
        let parent = block(genesis, at: 11_000, [])
        let child = block(parent, at: 12_000, [certificates[0]])
        #expect(verificationCode(node, parent, parent: genesis) == nil)
        #expect(verificationCode(node, child, parent: parent) == nil)
        // A proposer's siblings fill the table: the parent, verified first, goes.
        #expect(verificationCode(node, block(genesis, at: 13_000, []), parent: genesis) == nil)
        // The grandchild's ancestors are looked up among the verified blocks: the parent is no longer there.
        let grandchild = block(child, at: 13_000, [certificates[1]])
        do {
            try node.verify(block: grandchild, parent: child)
            Issue.record("a block verified beyond the bound was still kept")
        } catch let error as NodeError {
            #expect(error.code == .unknownParent)
        }
        // Verified again, the parent is kept again and the grandchild verifies.
        #expect(verificationCode(node, parent, parent: genesis) == nil)
        #expect(verificationCode(node, grandchild, parent: child) == nil)
    }
}
