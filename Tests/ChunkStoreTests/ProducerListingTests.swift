import ChunkStore
import DSMR
import Testing

@Suite struct ProducerListingTests {
    /// Slots 1...3 and 6000...6002 for producers 1 and 2: the index spans more
    /// than `slotSeekLimit` slots, so a full-range listing reads the range
    /// while a narrow one seeks slot by slot; both must give the same rows.
    @Test func listingByProducerIsTheSameOverNarrowAndWideRanges() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        var expected: [Int: [ChunkID]] = [1: [], 2: []]
        for slot in Array(UInt64(1)...3) + Array(UInt64(6000)...6002) {
            for producer in 1...2 {
                let chunk = MaintenanceTestbed.chunk(producer: producer, slot: slot)
                _ = try await store.persistAndSign(
                    chunk, validators: MaintenanceTestbed.validators, now: .milliseconds(6_000_000))
                expected[producer]!.append(chunk.id)
            }
        }
        for producer in 1...2 {
            let id = MaintenanceTestbed.signers[producer].nodeID
            let wide = try store.chunks(producer: id, slots: 0...Slot.max)
            #expect(wide.map(\.id) == expected[producer]!)
            #expect(wide.map(\.slot) == [1, 2, 3, 6000, 6001, 6002])
            let narrow = try store.chunks(producer: id, slots: 2...6000)
            #expect(narrow.map(\.id) == Array(expected[producer]![1...3]))
            #expect(try store.chunks(producer: id, slots: 4...5999).isEmpty)
            let seeking = try store.chunks(producer: id, slots: 0...3) + store.chunks(producer: id, slots: 6001...6100)
            #expect(seeking.map(\.id) == Array(expected[producer]![0...2] + expected[producer]![4...5]))
        }
        #expect(try store.chunks(producer: MaintenanceTestbed.signers[3].nodeID, slots: 0...Slot.max).isEmpty)
        store.close()
    }
}
