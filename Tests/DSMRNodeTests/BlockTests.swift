import ChunkStore
import DSMR
import DSMRNode
import Testing

@Suite struct BlockTests {
    /// Node 0 of a started cluster, with certificates for `chunks` in its store.
    func node(_ cluster: Cluster, holding certificates: [ChunkCertificate] = []) async throws -> Node {
        try await cluster.startAll()
        let node = cluster.nodes[0]!
        for certificate in certificates { try await node.store.addCertificate(certificate) }
        return node
    }

    let producer = Fixture.signers[1]

    func certificate(slot: UInt64, producer: Ed25519Signer? = nil) -> ChunkCertificate {
        Fixture.certificate(Fixture.chunk(producer ?? self.producer, slot: slot))
    }

    @Test func verificationFailuresEachHaveTheirOwnError() async throws {
        let cluster = Cluster()
        defer { cluster.stopAll() }
        let node = try await node(cluster)
        let genesis = node.lastAccepted
        let good = certificate(slot: 10)
        func code(_ block: Block, parent: Block? = nil) -> BlockVerificationError.Code? {
            verificationCode(node, block, parent: parent ?? genesis)
        }
        func block(
            _ certificates: [ChunkCertificate], height: UInt64 = 1, timestamp: Int64 = 11_000, parent: BlockID? = nil
        ) -> Block {
            Block(parent: parent ?? genesis.id, height: height, timestamp: timestamp, certificates: certificates)
        }
        #expect(code(block([good], parent: .zero)) == .wrongParent)
        #expect(code(block([good], height: 2)) == .wrongHeight)
        #expect(code(block([good], timestamp: 10_000)) == .timestampNotAfterParent)
        #expect(code(block([good], timestamp: 15_001)) == .timestampTooFarAhead)
        // A block without certificates only moves chain time, at least a slot (1 000 ms) after its parent.
        #expect(code(block([], timestamp: 10_999)) == .emptyBlockTooSoon)
        #expect(code(block([good, good])) == .repeatedCertificate)
        // Slot 0's chunk expired at 10 000, before the block's 11 000.
        #expect(code(block([certificate(slot: 0)])) == .expiredCertificate)
        // Slot 45 is in epoch 2; the block is in epoch 0.
        #expect(code(block([certificate(slot: 45)])) == .wrongEpoch)
        #expect(code(block([Fixture.oneSignerShort(good)])) == .belowQuorum)
        let forged = try ChunkCertificate(
            reference: good.reference, epoch: good.epoch, signers: good.signers,
            signatures: [[UInt8](repeating: 9, count: 64)] + good.signatures.dropFirst())
        #expect(code(block([forged])) == .badSignature)
        // Valid, then repeated by its child within the validity window.
        let first = block([good])
        #expect(code(first) == nil)
        let child = Block(parent: first.id, height: 2, timestamp: 12_000, certificates: [good])
        #expect(code(child, parent: first) == .repeatedCertificate)
        // Checks run in order: a wrong height is reported before an empty block too soon.
        #expect(code(block([], height: 3, timestamp: 10_500)) == .wrongHeight)
    }

    @Test func buildBlockTakesValidCertificatesInExpiryOrderThroughTheVerifier() async throws {
        let cluster = Cluster()
        defer { cluster.stopAll() }
        let early = certificate(slot: 2)  // expires at 12 000: valid at 12 000 exactly
        let later = certificate(slot: 5, producer: Fixture.signers[2])
        let last = certificate(slot: 8, producer: Fixture.signers[3])
        let expired = certificate(slot: 1, producer: Fixture.signers[2])  // expires at 11 000
        let node = try await node(cluster, holding: [last, expired, later, early])
        let genesis = node.lastAccepted
        let block = try node.buildBlock(parent: genesis, timestamp: 12_000)
        #expect(block.certificates == [early, later, last])
        #expect(block.height == 1 && block.parent == genesis.id)
        try node.verify(block: block, parent: genesis)

        // An error drops that certificate; false stops the walk.
        let dropping = Verdicts { $0 == later ? .drop : .take }
        #expect(
            try node.buildBlock(parent: genesis, timestamp: 12_000, verifier: dropping).certificates == [early, last])
        let stopping = Verdicts { $0 == later ? .stop : .take }
        #expect(try node.buildBlock(parent: genesis, timestamp: 12_000, verifier: stopping).certificates == [early])
        // At 12 001 the slot-2 chunk has expired.
        #expect(try node.buildBlock(parent: genesis, timestamp: 12_001).certificates == [later, last])
    }

    @Test func buildBlockSkipsAncestorsCertificatesAndFailsWhenNoneIsLeftWithinASlot() async throws {
        let cluster = Cluster()
        defer { cluster.stopAll() }
        let only = certificate(slot: 5)
        let node = try await node(cluster, holding: [only])
        let genesis = node.lastAccepted
        let first = try node.buildBlock(parent: genesis, timestamp: 11_000)
        try node.verify(block: first, parent: genesis)
        do {
            _ = try node.buildBlock(parent: first, timestamp: 11_999)
            Issue.record("built a block repeating its parent's certificate")
        } catch let error as NodeError {
            #expect(error.code == .noAvailableCertificates)
        }
        do {
            _ = try node.buildBlock(parent: genesis, timestamp: genesis.timestamp)
            Issue.record("built a block not after its parent")
        } catch let error as NodeError {
            #expect(error.code == .timestampNotAfterParent)
        }
    }

    @Test func acceptOnlyExtendsTheLastAcceptedAndIsIdempotent() async throws {
        let cluster = Cluster()
        defer { cluster.stopAll() }
        try await cluster.startAll()
        let block = try #require(try await cluster.round(transfers: 8))
        let node = cluster.nodes[0]!
        let root = try node.store.stateRoot(at: block.height)
        try await node.accept(block)
        #expect(try node.store.stateRoot(at: block.height) == root)
        let stray = Block(parent: .zero, height: block.height + 1, timestamp: block.timestamp + 1, certificates: [])
        do {
            try await node.accept(stray)
            Issue.record("accepted a block that does not extend the last accepted one")
        } catch let error as NodeError {
            #expect(error.code == .notChildOfLastAccepted)
        }
    }
}

/// Acceptance without execution (`accept(_:executing:)` with `false`): the
/// ordering may run ahead of execution, which catches up later.
@Suite struct RecordOnlyAcceptTests {
    @Test func blocksAcceptedWithoutExecutingWaitForExecutePendingAndReachTheSameRoots() async throws {
        let cluster = Cluster()
        defer { cluster.stopAll() }
        try await cluster.startAll()
        cluster.stop(3)
        var blocks: [Block] = []
        for _ in 0..<2 { blocks.append(try #require(try await cluster.round(transfers: 6))) }
        try await cluster.start(3)
        let late = cluster.nodes[3]!
        let executedBefore = try late.store.executedTip()
        for block in blocks {
            let executed = try await late.accept(block, executing: false)
            #expect(executed.isEmpty)
        }
        #expect(late.lastAccepted.id == blocks.last!.id)
        #expect(try late.store.executedTip() == executedBefore, "a block was executed at acceptance")

        let done = try await late.executePending()
        #expect(done.map(\.height) == blocks.map(\.height))
        let reference = cluster.nodes[0]!
        for block in blocks {
            #expect(try late.store.stateRoot(at: block.height) == reference.store.stateRoot(at: block.height))
        }
    }
}

/// A verifier answering from a table: take, drop (throw) or stop.
struct Verdicts: BuildChunkVerifier {
    enum Verdict { case take, drop, stop }
    struct Dropped: Error {}
    let verdict: @Sendable (ChunkCertificate) -> Verdict
    init(_ verdict: @escaping @Sendable (ChunkCertificate) -> Verdict) { self.verdict = verdict }
    func verifyChunk(_ certificate: ChunkCertificate, timestamp: Int64) throws -> Bool {
        switch verdict(certificate) {
        case .take: return true
        case .drop: throw Dropped()
        case .stop: return false
        }
    }
}

@Suite struct RejectTests {
    @Test func rejectedBlockIsForgottenSoItsDescendantsCannotBeVerified() async throws {
        let cluster = Cluster()
        try await cluster.startAll()
        defer { cluster.stopAll() }
        let node = cluster.nodes[0]!
        let genesis = node.lastAccepted
        let certificates = (1...3).map { Fixture.certificate(Fixture.chunk(Fixture.signers[$0], slot: 10)) }
        let parent = Block(parent: genesis.id, height: 1, timestamp: 11_000, certificates: [certificates[0]])
        try node.verify(block: parent, parent: genesis)
        let child = Block(parent: parent.id, height: 2, timestamp: 12_000, certificates: [certificates[1]])
        try node.verify(block: child, parent: parent)
        node.reject(parent)
        // The grandchild's ancestors are looked up among verified blocks: the rejected one is gone.
        let grandchild = Block(parent: child.id, height: 3, timestamp: 13_000, certificates: [certificates[2]])
        do {
            try node.verify(block: grandchild, parent: child)
            Issue.record("verified a block descending from a rejected one")
        } catch let error as NodeError {
            #expect(error.code == .unknownParent)
        }
    }
}

@Suite struct AcceptedChunkTests {
    @Test func acceptedChunksNeverComeBackAsPendingAfterARestart() async throws {
        let cluster = Cluster()
        try await cluster.startAll()
        defer { cluster.stopAll() }
        let block = try #require(try await cluster.round(transfers: 16))
        cluster.stop(0)
        try await cluster.start(0)
        let node = try #require(cluster.nodes[0])
        for certificate in block.certificates {
            #expect(try node.store.chunk(certificate.reference)?.summary.status == .accepted)
        }
        let pending = Set(try node.store.chunks(status: .pending).map(\.id))
        #expect(pending.isDisjoint(with: block.certificates.map(\.reference.chunkID)))
        #expect(try node.store.certificates(validAt: .milliseconds(0)).isEmpty)
        #expect(node.lastAccepted == block)
    }

    @Test func certificateWithExpiryZeroIsExpiredLikeAnyOther() async throws {
        let cluster = Cluster()
        try await cluster.startAll()
        defer { cluster.stopAll() }
        let node = cluster.nodes[0]!
        var reference = ChunkReference(chunk: Fixture.chunk(Fixture.signers[1], slot: 0), rules: Fixture.rules)
        reference.expiry = 0
        let set = try ValidatorSet(epoch: 0, validators: Fixture.validators())
        let shares = Fixture.signers.prefix(3).map {
            try! SignatureShare.sign(reference, rules: Fixture.rules, signer: $0, domain: Fixture.domain)
        }
        let certificate = try ChunkCertificate.aggregate(
            reference: reference, shares: shares, validators: set, rules: Fixture.rules)
        let genesis = node.lastAccepted
        let block = Block(parent: genesis.id, height: 1, timestamp: 11_000, certificates: [certificate])
        do {
            try node.verify(block: block, parent: genesis)
            Issue.record("verified a block with a certificate that expired at 0")
        } catch let error as BlockVerificationError {
            #expect(error.code == .expiredCertificate)
        }
        #expect(await replyCode { try await node.server.receive(certificate) } == .invalid)
    }
}
