import ChunkStore
import DSMR
import DSMRTestSupport
import Testing

@Suite("Reads")
struct ReadTests {
    @Test func listsChunksByProducerSlotRangeAndByExpiryRangeWithLimits() async throws {
        try await withTemporaryDirectory("reads") { path in
            let store = try ChunkStore(Fixture.configuration(path, rules: GarbageCollectionTests.roomyRules))
            defer { store.close() }
            let producer = Fixture.producers[0]
            var chunks: [Chunk] = []
            for slot in UInt64(10)..<16 {
                let chunk = Fixture.chunk(producer, slot: slot, tag: slot)
                _ = try await store.persistAndSign(chunk, validators: Fixture.validators, now: .milliseconds(10_000))
                chunks.append(chunk)
            }
            let other = Fixture.chunk(Fixture.producers[1], slot: 12)
            _ = try await store.persistAndSign(other, validators: Fixture.validators, now: .milliseconds(10_000))

            #expect(
                try store.chunks(producer: producer.nodeID, slots: 12...13).map(\.id) == [chunks[2].id, chunks[3].id])
            #expect(try store.chunks(producer: producer.nodeID, slots: 0...Slot.max).map(\.id) == chunks.map(\.id))
            #expect(try store.chunks(producer: producer.nodeID, slots: 16...Slot.max).isEmpty)
            #expect(try store.chunks(producer: Fixture.outsider.nodeID, slots: 0...Slot.max).isEmpty)

            let expiry = { (slot: UInt64) in Fixture.rules.expiry(ofSlot: slot) }
            let middle = try store.chunks(status: .pending, expiring: expiry(12)..<expiry(14))
            #expect(Set(middle.map(\.id)) == [chunks[2].id, chunks[3].id, other.id])
            #expect(middle.map(\.expiry) == middle.map(\.expiry).sorted())
            #expect(try store.chunks(status: .pending, limit: 2).map(\.id) == [chunks[0].id, chunks[1].id])
            #expect(try store.chunks(status: .pending, limit: 0).isEmpty)
            #expect(try store.chunks(status: .accepted).isEmpty)

            let summary = try #require(try store.summary(of: chunks[0].id))
            #expect(summary.producer == producer.nodeID && summary.slot == 10 && summary.expiry == expiry(10))
            #expect(summary.status == .pending && summary.origin == .signed)
            #expect(summary.units == Fixture.units(chunks[0]) && summary.size == chunks[0].encoded().count)
            #expect(try store.chunkBytes(chunks[0].id) == chunks[0].encoded())
            #expect(try store.chunk(Fixture.chunk(producer, slot: 99).id) == nil)

            // By id and expiry, as peers ask: lent without a copy, or copied.
            let lent = try store.withChunkBytes(chunks[1].id, expiry: expiry(11)) { bytes in
                ChunkID(hashing: bytes) == chunks[1].id && bytes.count == chunks[1].encodedSize
            }
            #expect(lent == true)
            #expect(try store.chunkBytes(chunks[1].id, expiry: expiry(11)) == chunks[1].encoded())
            #expect(try store.chunk(chunks[1].id, expiry: expiry(11))?.chunk == chunks[1])
            // The right id with the wrong expiry finds nothing.
            #expect(try store.chunkBytes(chunks[1].id, expiry: expiry(12)) == nil)
            #expect(try store.withChunkBytes(chunks[1].id, expiry: expiry(12)) { _ in true } == nil)
        }
    }
}
