import ChunkStore
import DSMR
import DSMRTestSupport
import Testing

@Suite("Persist and sign")
struct SigningTests {
    let producer = Fixture.producers[0]
    let now: Int64 = 20_000
    var slot: UInt64 { Fixture.rules.slot(at: now) }

    @Test func sixteenConcurrentConflictingChunksYieldOneShareAndEvidence() async throws {
        try await withTemporaryDirectory { path in
            let store = try ChunkStore(Fixture.configuration(path))
            defer { store.close() }
            let chunks = (0..<16).map { Fixture.chunk(producer, slot: slot, size: 30, tag: UInt64($0)) }
            let outcomes = await withTaskGroup(of: (Chunk, Result<SignatureShare, any Error>).self) { group in
                for chunk in chunks {
                    group.addTask { [now] in
                        do {
                            return (
                                chunk,
                                .success(
                                    try await store.persistAndSign(
                                        chunk, validators: Fixture.validators, now: .milliseconds(now)))
                            )
                        } catch {
                            return (chunk, .failure(error))
                        }
                    }
                }
                var outcomes: [(Chunk, Result<SignatureShare, any Error>)] = []
                for await outcome in group { outcomes.append(outcome) }
                return outcomes
            }

            let winners = outcomes.compactMap { chunk, result in (try? result.get()).map { (chunk, $0) } }
            try #require(winners.count == 1)
            let (winner, share) = winners[0]
            #expect(share.reference == Fixture.reference(winner))
            #expect(share.verify(publicKey: Fixture.node.publicKey, rules: Fixture.rules, domain: Fixture.domain))
            let refusals = outcomes.compactMap { _, result -> ChunkStoreError.Code? in
                if case .failure(let error as ChunkStoreError) = result { return error.code }
                return nil
            }
            #expect(refusals == Array(repeating: .conflictingChunk, count: 15))

            #expect(try store.signedChunk(producer: producer.nodeID, slot: Slot(slot)) == winner.id)
            #expect(
                try store.chunks(producer: producer.nodeID, slots: Slot(slot)...Slot(slot)).map(\.id) == [winner.id])
            #expect(
                try store.ledgerUsage(producer: producer.nodeID, window: Fixture.rules.window(ofSlot: slot))
                    == Fixture.units(winner))
            let evidence = try store.evidence()
            try #require(evidence.count == 1)
            let proof = evidence[0]
            #expect(proof.producer == producer.nodeID && proof.slot == slot)
            #expect(proof.signedChunkID == winner.id && proof.signedChunk == winner)
            #expect(chunks.contains(proof.conflictingChunk) && proof.conflictingChunk != winner)
            #expect(proof.proves(publicKey: producer.publicKey, domain: Fixture.domain))
            #expect(!proof.proves(publicKey: Fixture.producers[1].publicKey, domain: Fixture.domain))
        }
    }

    @Test func signsAtMostOneChunkPerProducerSlotAcrossRestart() async throws {
        try await withTemporaryDirectory { path in
            let first = Fixture.chunk(producer, slot: slot, tag: 1)
            let second = Fixture.chunk(producer, slot: slot, tag: 2)
            let own = Fixture.chunk(Fixture.node, slot: slot, tag: 3)
            let ownSecond = Fixture.chunk(Fixture.node, slot: slot, tag: 4)
            do {
                let store = try ChunkStore(Fixture.configuration(path))
                defer { store.close() }
                _ = try await store.persistAndSign(first, validators: Fixture.validators, now: .milliseconds(now))
                _ = try await store.storeOwnChunk(own, now: .milliseconds(now))
            }
            let store = try ChunkStore(Fixture.configuration(path))
            defer { store.close() }
            #expect(try store.signedChunk(producer: producer.nodeID, slot: Slot(slot)) == first.id)
            #expect(
                await errorCode {
                    try await store.persistAndSign(second, validators: Fixture.validators, now: .milliseconds(now))
                } == .conflictingChunk)
            #expect(
                await errorCode {
                    try await store.storeOwnChunk(ownSecond, now: .milliseconds(now))
                } == .conflictingChunk)
            // The chunk signed before the restart is signed again.
            let again = try await store.persistAndSign(first, validators: Fixture.validators, now: .milliseconds(now))
            #expect(again.reference == Fixture.reference(first))
            #expect(again.verify(publicKey: Fixture.node.publicKey, rules: Fixture.rules, domain: Fixture.domain))
            #expect(try store.chunk(second.id) == nil)
            #expect(try store.chunk(first.id)?.chunk == first)
            #expect(try store.chunkBytes(first.id) == first.encoded())
            #expect(Set(try store.evidence().map(\.producer)) == [producer.nodeID, Fixture.node.nodeID])
        }
    }

    @Test func rateLimitHoldsAcrossRestart() async throws {
        try await withTemporaryDirectory { path in
            let window = Fixture.rules.window(ofSlot: slot)
            let windowStart = window * Fixture.rules.rateLimitWindow
            // Two chunks of about 450 bytes each: 1000 units allow two, not three.
            let chunks = (0..<3).map {
                Fixture.chunk(producer, slot: windowStart + UInt64($0), size: 330, tag: UInt64($0))
            }
            let now = Fixture.rules.slotStart(windowStart)
            var usage = Dimensions.zero
            do {
                let store = try ChunkStore(Fixture.configuration(path))
                defer { store.close() }
                for chunk in chunks.prefix(2) {
                    _ = try await store.persistAndSign(chunk, validators: Fixture.validators, now: .milliseconds(now))
                    usage = try usage.adding(Fixture.units(chunk))
                }
                #expect(try store.ledgerUsage(producer: producer.nodeID, window: window) == usage)
            }
            let store = try ChunkStore(Fixture.configuration(path))
            defer { store.close() }
            #expect(try store.ledgerUsage(producer: producer.nodeID, window: window) == usage)
            do {
                _ = try await store.persistAndSign(chunks[2], validators: Fixture.validators, now: .milliseconds(now))
                Issue.record("a third chunk was signed past the limit")
            } catch let error as ChunkStoreError {
                #expect(error.code == .rateLimited)
                #expect(error.message.contains("\(usage)"), "the message names the usage: \(error.message)")
                #expect(
                    error.message.contains("\(Fixture.rules.maxUnitsPerWindow)"),
                    "the message names the limit: \(error.message)")
            }
            #expect(try store.chunk(chunks[2].id) == nil)
            #expect(try store.signedChunk(producer: producer.nodeID, slot: Slot(chunks[2].slot)) == nil)
            // Another producer, and the same producer in the next window, are not limited.
            _ = try await store.persistAndSign(
                Fixture.chunk(Fixture.producers[1], slot: chunks[2].slot, size: 330), validators: Fixture.validators,
                now: .milliseconds(now))
            let nextWindow = windowStart + Fixture.rules.rateLimitWindow
            _ = try await store.persistAndSign(
                Fixture.chunk(producer, slot: nextWindow, size: 330), validators: Fixture.validators,
                now: .milliseconds(Fixture.rules.slotStart(nextWindow)))
            #expect(try store.ledgerUsage(producer: producer.nodeID, window: window) == usage)
        }
    }

    @Test func refusesChunksThatBreakTheRulesBeforeWritingAnything() async throws {
        try await withTemporaryDirectory { path in
            let store = try ChunkStore(Fixture.configuration(path))
            defer { store.close() }
            let validators = Fixture.validators
            let cases: [(ChunkStoreError.Code, Chunk)] = [
                (.notAValidator, Fixture.chunk(Fixture.outsider, slot: slot)),
                (.badSignature, Fixture.badlySigned(producer, slot: slot, payload: [1, 2, 3])),
                (.tooFarInFuture, Fixture.chunk(producer, slot: slot + Fixture.rules.maxFutureSlots + 1)),
                (.tooLarge, Fixture.chunk(producer, slot: slot, size: Fixture.rules.maxChunkBytes)),
            ]
            for (code, chunk) in cases {
                #expect(
                    await errorCode {
                        try await store.persistAndSign(chunk, validators: validators, now: .milliseconds(now))
                    } == code)
                #expect(try store.chunk(chunk.id) == nil)
            }
            // A chunk signed for another chain does not verify here.
            let foreign = try Chunk.sign(
                producer: producer, beneficiary: producer.nodeID, slot: slot, transactions: [[9]],
                domain: SigningDomain(networkID: Fixture.networkID, chainID: Fixture.otherChainID))
            #expect(
                await errorCode {
                    try await store.persistAndSign(foreign, validators: validators, now: .milliseconds(now))
                } == .badSignature)
            // Expired: at or below the watermark.
            try await store.collectGarbage(upTo: .milliseconds(Fixture.rules.expiry(ofSlot: slot - 1)))
            #expect(
                await errorCode {
                    try await store.persistAndSign(
                        Fixture.chunk(producer, slot: slot - 1), validators: validators, now: .milliseconds(now))
                } == .expired)
            _ = try await store.persistAndSign(
                Fixture.chunk(producer, slot: slot), validators: validators, now: .milliseconds(now))
            // Own chunks must be this node's.
            #expect(
                await errorCode {
                    try await store.storeOwnChunk(Fixture.chunk(producer, slot: slot + 1), now: .milliseconds(now))
                } == .invalidChunk)
            #expect(try store.chunks(status: .pending).count == 1)
            #expect(try store.signedChunk(producer: producer.nodeID, slot: Slot(slot - 1)) == nil)
        }
    }
}
