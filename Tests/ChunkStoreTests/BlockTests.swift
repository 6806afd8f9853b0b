import ChunkStore
import DSMR
import DSMRTestSupport
import Testing

@Suite("Accepted blocks")
struct BlockTests {
    let slot: UInt64 = 20
    var now: Int64 { Fixture.rules.slotStart(slot) }

    @Test func recordingABlockAcceptsItsChunksAndReportsMissingOnes() async throws {
        try await withTemporaryDirectory("blocks") { path in
            let store = try ChunkStore(Fixture.configuration(path))
            defer { store.close() }
            let held = Fixture.chunk(Fixture.producers[0], slot: slot)
            let absent = Fixture.chunk(Fixture.producers[1], slot: slot)
            let waiting = Fixture.chunk(Fixture.producers[2], slot: slot)
            for chunk in [held, waiting] {
                _ = try await store.persistAndSign(chunk, validators: Fixture.validators, now: .milliseconds(now))
            }
            #expect(try await store.addCertificate(Fixture.certificate(held)))
            #expect(try await store.addCertificate(Fixture.certificate(waiting)))
            #expect(
                Set(try store.certificates(validAt: .milliseconds(now)).map(\.reference.chunkID)) == [
                    held.id, waiting.id,
                ])

            let block = Fixture.block(height: 5, timestamp: now - 1_000, certifying: [held, absent])
            let report = try await store.recordAccepted(block)
            #expect(report.tip == BlockTip(height: 5, id: block.id))
            #expect(report.missingChunks == [Fixture.reference(absent)])
            #expect(try store.summary(of: held.id)?.status == .accepted)
            #expect(try store.summary(of: waiting.id)?.status == .pending)
            #expect(try store.chunks(status: .accepted).map(\.id) == [held.id])
            #expect(try store.certificate(for: Fixture.reference(absent)) == Fixture.certificate(absent))
            #expect(try store.certificate(for: Fixture.reference(held)) != nil)
            // Accepted chunks' certificates are no longer offered to block builders.
            #expect(try store.certificates(validAt: .milliseconds(now)).map(\.reference.chunkID) == [waiting.id])
            #expect(try store.watermark() == now - 1_000)
            #expect(try store.block(at: 5) == block)
            #expect(try store.acceptedTip() == report.tip)

            // The missing chunk, fetched later, is stored as accepted and is
            // not charged to its producer.
            try await store.storeAcceptedChunk(absent, for: Fixture.reference(absent), validators: Fixture.validators)
            #expect(try store.summary(of: absent.id)?.status == .accepted)
            #expect(try store.summary(of: absent.id)?.origin == .fetched)
            #expect(
                try store.ledgerUsage(producer: absent.producer, window: Fixture.rules.window(ofSlot: slot)) == .zero)
        }
    }

    @Test func chunkSignedAfterItsBlockWasAcceptedIsStoredAsAccepted() async throws {
        try await withTemporaryDirectory("blocks") { path in
            let configuration = Fixture.configuration(path)
            let store = try ChunkStore(configuration)
            defer { store.close() }
            let late = Fixture.chunk(Fixture.producers[0], slot: slot)
            let early = Fixture.chunk(Fixture.producers[1], slot: slot)
            _ = try await store.persistAndSign(early, validators: Fixture.validators, now: .milliseconds(now))
            let report = try await store.recordAccepted(Fixture.block(height: 1, timestamp: now, certifying: [late]))
            #expect(report.missingChunks == [Fixture.reference(late)])
            // The producer's request for a share arrives after the block.
            _ = try await store.persistAndSign(late, validators: Fixture.validators, now: .milliseconds(now))
            #expect(try store.summary(of: late.id)?.status == .accepted)
            #expect(try store.summary(of: late.id)?.origin == .signed)
            // The node's fetch of the missing chunk finds it held.
            try await store.storeAcceptedChunk(late, for: Fixture.reference(late), validators: Fixture.validators)
            // A chunk no accepted block names is not made accepted by a fetch.
            let code = await errorCode {
                try await store.storeAcceptedChunk(early, for: Fixture.reference(early), validators: Fixture.validators)
            }
            #expect(code == .notAccepted)
            #expect(try store.summary(of: early.id)?.status == .pending)
            #expect(try store.chunks(status: .accepted).map(\.id) == [late.id])
            // The accepted one is kept for the accepted retention, not collected at expiry.
            let expiry = Fixture.rules.expiry(ofSlot: slot)
            let atExpiry = try await store.collectGarbage(upTo: .milliseconds(expiry))
            #expect(atExpiry.expiredPending == 1 && atExpiry.expiredAccepted == 0)
            let retained = ChainTime.milliseconds(expiry + configuration.acceptedRetention)
            #expect(try await store.collectGarbage(upTo: retained).expiredAccepted == 1)
        }
    }

    @Test func refusesBlocksThatDoNotExtendTheTip() async throws {
        try await withTemporaryDirectory("blocks") { path in
            let store = try ChunkStore(Fixture.configuration(path))
            defer { store.close() }
            let first = Fixture.block(height: 5, timestamp: 1_000)
            let tip = try await store.recordAccepted(first).tip
            #expect(
                await errorCode {
                    try await store.recordAccepted(Fixture.block(parent: first.id, height: 7, timestamp: 2_000))
                } == .blockOutOfOrder)
            #expect(
                await errorCode {
                    try await store.recordAccepted(Fixture.block(parent: .zero, height: 6, timestamp: 2_000))
                } == .blockOutOfOrder)
            #expect(
                await errorCode {
                    try await store.recordAccepted(Fixture.block(parent: first.id, height: 5, timestamp: 2_000))
                } == .blockOutOfOrder)
            #expect(try store.acceptedTip() == tip)
            #expect(try store.watermark() == 1_000, "a refused block moves nothing")
            // Recording the tip again is a no-op.
            let again = try await store.recordAccepted(first)
            #expect(again.tip == tip && again.missingChunks.isEmpty)
            let second = Fixture.block(parent: first.id, height: 6, timestamp: 2_000)
            #expect(try await store.recordAccepted(second).tip.height == 6)
            #expect(try store.block(at: 6) == second)
        }
    }

    @Test func tipsSurviveReopenAndExecutedTipOnlyMovesForward() async throws {
        try await withTemporaryDirectory("blocks") { path in
            let first: Block
            let second: Block
            do {
                let store = try ChunkStore(Fixture.configuration(path))
                defer { store.close() }
                #expect(try store.acceptedTip() == nil && store.executedTip() == nil)
                #expect(await errorCode { try await store.markExecuted(height: 0) } == .blockOutOfOrder)
                first = Fixture.block(height: 1, timestamp: 1_000)
                second = Fixture.block(parent: first.id, height: 2, timestamp: 2_000)
                try await store.recordAccepted(first)
                try await store.recordAccepted(second)
                #expect(await errorCode { try await store.markExecuted(height: 3) } == .blockOutOfOrder)
                try await store.markExecuted(height: 2)
                try await store.markExecuted(height: 1)
                #expect(try store.executedTip() == 2)
            }
            let store = try ChunkStore(Fixture.configuration(path))
            defer { store.close() }
            #expect(try store.acceptedTip() == BlockTip(height: 2, id: second.id))
            #expect(try store.executedTip() == 2)
            #expect(try store.block(at: 1) == first)
            #expect(try store.block(at: 2) == second)
            #expect(try store.block(at: 3) == nil)
            let third = Fixture.block(parent: second.id, height: 3, timestamp: 3_000)
            try await store.recordAccepted(third)
            try await store.markExecuted(height: 3)
            #expect(try store.executedTip() == 3)
        }
    }
}
