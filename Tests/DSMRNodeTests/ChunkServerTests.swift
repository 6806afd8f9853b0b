import ChunkStore
import DSMR
import DSMRNode
import DSMRTestSupport
import Testing

@Suite struct ChunkServerTests {
    let producer = Fixture.signers[1]

    @Test func shareSignsTheReferenceDerivedFromTheChunk() async throws {
        try await withTemporaryDirectory { path in
            let (_, server) = try makeServer(path)
            let chunk = Fixture.chunk(producer, slot: 2)
            let share = try await server.signatureShare(for: chunk)
            #expect(share.reference == ChunkReference(chunk: chunk, rules: Fixture.rules))
            #expect(share.signer == Fixture.signers[0].nodeID)
            #expect(share.verify(publicKey: Fixture.signers[0].publicKey, rules: Fixture.rules, domain: Fixture.domain))
        }
    }

    @Test func repeatedRequestGetsTheSameShareWithoutASecondCharge() async throws {
        try await withTemporaryDirectory { path in
            let (store, server) = try makeServer(path)
            let chunk = Fixture.chunk(producer, slot: 2)
            let first = try await server.signatureShare(for: chunk)
            let usage = try store.ledgerUsage(producer: producer.nodeID, window: 0)
            let second = try await server.signatureShare(for: chunk)
            #expect(first == second)
            #expect(try store.ledgerUsage(producer: producer.nodeID, window: 0) == usage)
        }
    }

    @Test func nonValidatorSigningInAValidatorsNameGetsNoShare() async throws {
        try await withTemporaryDirectory { path in
            let (store, server) = try makeServer(path)
            let genuine = Fixture.chunk(Fixture.outsider, slot: 2)
            // Same content, naming the validator as producer, signed by the outsider's key.
            let impostor = try Chunk(
                producer: producer.nodeID, beneficiary: producer.nodeID, slot: 2, transactions: genuine.transactions,
                signature: genuine.signature)
            #expect(await replyCode { try await server.signatureShare(for: impostor) } == .invalid)
            #expect(await replyCode { try await server.signatureShare(for: genuine) } == .notAValidator)
            #expect(try store.signedChunk(producer: producer.nodeID, slot: 2) == nil)
        }
    }

    @Test func expiryMustLieWithinChainTimeAndTheValidityWindowReadBackAfterRestart() async throws {
        try await withTemporaryDirectory { path in
            do {
                let (store, _) = try makeServer(path)
                try await store.recordAccepted(Block(parent: .zero, height: 0, timestamp: 50_000, certificates: []))
                store.close()
            }
            let (_, server) = try makeServer(path, clock: ManualClock(.milliseconds(55_000)))
            #expect(server.chainTime.now == .milliseconds(50_000))
            // Expires at 50 000, at chain time.
            #expect(
                await replyCode { try await server.signatureShare(for: Fixture.chunk(producer, slot: 40)) } == .expired)
            // Expires at 71 000, past chain time + 20 s.
            #expect(
                await replyCode { try await server.signatureShare(for: Fixture.chunk(producer, slot: 61)) }
                    == .tooFarInFuture)
            // Expires at 51 000 and at 70 000: both inside.
            _ = try await server.signatureShare(for: Fixture.chunk(producer, slot: 41))
            _ = try await server.signatureShare(for: Fixture.chunk(Fixture.signers[2], slot: 57))
        }
    }

    @Test func conflictIsRefusedAndKeptAsEvidence() async throws {
        try await withTemporaryDirectory { path in
            let (store, server) = try makeServer(path)
            _ = try await server.signatureShare(for: Fixture.chunk(producer, slot: 2, payload: [1]))
            let conflicting = Fixture.chunk(producer, slot: 2, payload: [2])
            #expect(await replyCode { try await server.signatureShare(for: conflicting) } == .conflicting)
            let evidence = try store.evidence()
            #expect(evidence.count == 1)
            #expect(evidence.first?.conflictingChunk == conflicting)
        }
    }

    @Test func producerOverItsRateLimitGetsNoShare() async throws {
        try await withTemporaryDirectory { path in
            let (_, server) = try makeServer(path)
            let big = [UInt8](repeating: 7, count: 1_500)
            _ = try await server.signatureShare(for: Fixture.chunk(producer, slot: 0, payload: big))
            _ = try await server.signatureShare(for: Fixture.chunk(producer, slot: 1, payload: big))
            // 3 × ~1.6 kB passes the 4 000-unit window.
            #expect(
                await replyCode { try await server.signatureShare(for: Fixture.chunk(producer, slot: 2, payload: big)) }
                    == .rateLimited)
        }
    }

    @Test func malformedRequestsAreAnsweredNeverCrash() async throws {
        try await withTemporaryDirectory { path in
            let (_, server) = try makeServer(path)
            var generator = SeededGenerator(seed: 5)
            let valid = NodeMessage.requestChunkSignatureShare(Fixture.chunk(producer, slot: 1)).encoded()
            var inputs: [[UInt8]] = [[], [1], [2, 1], NodeMessage.chunk([1, 2]).encoded()]
            for _ in 0..<300 {
                var mutated = valid
                let index = Int(generator.next() % UInt64(mutated.count))
                mutated[index] ^= UInt8(truncatingIfNeeded: generator.next() | 1)
                inputs.append(Bool.random(using: &generator) ? mutated : Array(mutated.prefix(index)))
            }
            for input in inputs {
                let answer = try NodeMessage(decoding: await server.handleRequest(input, from: producer.nodeID))
                switch answer {
                case .error, .chunkSignature: break
                default: Issue.record("unexpected answer \(answer)")
                }
            }
            let answer = try NodeMessage(decoding: await server.handleRequest([0xFF, 1], from: producer.nodeID))
            guard case .error(let reply) = answer else {
                Issue.record("no error for garbage")
                return
            }
            #expect(reply.code == .malformed)
        }
    }

    @Test func overloadedServerSaysSo() async throws {
        try await withTemporaryDirectory { path in
            let store = try ChunkStore(Fixture.configuration(path, signer: Fixture.signers[0]))
            let server = ChunkServer(
                store: store, validators: ValidatorSchedule(initial: Fixture.validators(), rules: Fixture.rules),
                chainTime: try ChainTimeSource(store: store), clock: ManualClock(), maxConcurrentRequests: 0)
            let request = NodeMessage.requestChunk(.zero, expiry: 0).encoded()
            #expect(
                try NodeMessage(decoding: await server.handleRequest(request, from: producer.nodeID))
                    == .error(ErrorReply(.overloaded, "0 requests in hand")))
        }
    }

    @Test func servesHeldChunksByIdAndExpiryOnly() async throws {
        try await withTemporaryDirectory { path in
            let (_, server) = try makeServer(path)
            let chunk = Fixture.chunk(producer, slot: 2)
            _ = try await server.signatureShare(for: chunk)
            let expiry = Fixture.rules.expiry(ofSlot: 2)
            #expect(try server.serveChunk(chunk.id, expiry: expiry) == chunk.encoded())
            #expect(await replyCode { try server.serveChunk(chunk.id, expiry: expiry + 1) } == .notAvailable)
            #expect(await replyCode { try server.serveChunk(.zero, expiry: expiry) } == .notAvailable)
            let answer = await server.handleRequest(
                NodeMessage.requestChunk(chunk.id, expiry: expiry).encoded(), from: producer.nodeID)
            #expect(try NodeMessage(decoding: answer) == .chunk(chunk.encoded()))
        }
    }

    @Test func stateSyncRequestsAtTheEdgesAreRefusedWithAReason() async throws {
        try await withTemporaryDirectory { path in
            let (_, server) = try makeServer(path)
            func code(_ request: NodeMessage) async throws -> ErrorReply.Code? {
                let answer = try NodeMessage(
                    decoding: await server.handleRequest(request.encoded(), from: producer.nodeID))
                guard case .error(let reply) = answer else { return nil }
                return reply.code
            }
            // No block is held at the far end of the counter; no snapshot is served by a node without a service.
            #expect(try await code(.requestBlock(height: .max)) == .notAvailable)
            #expect(try await code(.requestSnapshotPiece(height: .max, index: .max)) == .notAvailable)
            #expect(try await code(.requestStateOffer) == .notAvailable)
            // Answers are not requests.
            #expect(try await code(.block([1, 2, 3])) == .malformed)
        }
    }

    @Test func gossipedCertificatesAreStoredOnlyOnceVerifiedAndNeverReplaced() async throws {
        try await withTemporaryDirectory { path in
            let (store, server) = try makeServer(path)
            let chunk = Fixture.chunk(producer, slot: 2)
            let reference = ChunkReference(chunk: chunk, rules: Fixture.rules)
            let valid = Fixture.certificate(chunk, signedBy: 3)
            #expect(await replyCode { try await server.receive(Fixture.oneSignerShort(valid)) } == .invalid)
            let forged = try ChunkCertificate(
                reference: reference, epoch: valid.epoch, signers: valid.signers,
                signatures: valid.signatures.map { _ in [UInt8](repeating: 1, count: 64) })
            #expect(await replyCode { try await server.receive(forged) } == .invalid)
            #expect(try store.certificate(for: reference) == nil)
            #expect(try await server.receive(valid))
            let other = Fixture.certificate(chunk, signedBy: 4)
            #expect(try await server.receive(other) == false)
            #expect(try store.certificate(for: reference) == valid)
        }
    }

    @Test func gossipedCertificateMustNameTheHeldChunk() async throws {
        try await withTemporaryDirectory { path in
            let (store, server) = try makeServer(path)
            let chunk = Fixture.chunk(producer, slot: 2)
            _ = try await server.signatureShare(for: chunk)
            // A quorum signed a reference with the held chunk's id but another producer.
            var reference = ChunkReference(chunk: chunk, rules: Fixture.rules)
            reference.producer = Fixture.signers[2].nodeID
            let set = try ValidatorSet(epoch: 0, validators: Fixture.validators())
            let shares = Fixture.signers.prefix(3).map {
                try! SignatureShare.sign(reference, rules: Fixture.rules, signer: $0, domain: Fixture.domain)
            }
            let mislabelled = try ChunkCertificate.aggregate(
                reference: reference, shares: shares, validators: set, rules: Fixture.rules)
            #expect(await replyCode { try await server.receive(mislabelled) } == .invalid)
            #expect(try store.certificate(for: reference) == nil)
        }
    }
}
