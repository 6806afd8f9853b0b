@testable import ChunkStore
import DSMR
import Testing

/// Every key and value type of the store's tables round-trips, and refuses
/// its bytes one short or one long with `corruptRecord`.
@Suite struct RowTests {
    static let id = ChunkID(hashing: [1, 2, 3])
    static let producer = Fixture.producers[0].nodeID
    static let units = Dimensions(bandwidth: 1, compute: 2, storageRead: 3, storageAllocate: 4, storageWrite: 5)

    /// `row` decodes from its own bytes to an equal value, and a fixed-size
    /// row refuses one byte less and one byte more.
    func roundTrips<R: Row & Equatable>(_ row: R) throws {
        let bytes = row.encoded
        if let size = R.size { #expect(bytes.count == size) }
        #expect(try bytes.withUnsafeBytes { try R(decoding: $0) } == row)
        guard R.size != nil else { return }
        for wrong in [Array(bytes.dropLast()), bytes + [0]] {
            #expect { _ = try wrong.withUnsafeBytes { try R(decoding: $0) } } throws: {
                ChunkStoreError.Code.corruptRecord ~= $0
            }
        }
    }

    @Test func keysRoundTripAndRefuseTheWrongLength() throws {
        try roundTrips(ChunkKey(expiry: 42_000, id: Self.id))
        try roundTrips(SlotProducerKey(slot: 7, producer: Self.producer, id: Self.id))
        try roundTrips(ExpiryIndexKey(status: .accepted, expiry: 9, id: Self.id))
        try roundTrips(ProducerKey(Self.producer, 3))
        try roundTrips(HeightKey(12))
    }

    @Test func valuesRoundTripAndRefuseTheWrongLength() throws {
        try roundTrips(IndexedExpiry(5_000))
        try roundTrips(SignedRecord(chunkID: Self.id, expiry: 5_000, notHeld: true, charged: true))
        try roundTrips(Self.units)
        try roundTrips(BlockTip(height: 3, id: try BlockID(bytes: [UInt8](repeating: 4, count: 32))))
    }

    @Test func anEmptyRowRefusesBytes() throws {
        #expect(EmptyRow().encoded.isEmpty)
        #expect { _ = try [UInt8(0)].withUnsafeBytes { try EmptyRow(decoding: $0) } } throws: {
            ChunkStoreError.Code.corruptRecord ~= $0
        }
    }

    @Test func keysSortByTheirFirstNumber() {
        let early = ChunkKey(expiry: 255, id: ChunkID(hashing: [9])).encoded
        let late = ChunkKey(expiry: 256, id: ChunkID(hashing: [1])).encoded
        #expect(early.lexicographicallyPrecedes(late))
        #expect(ProducerKey(Self.producer, 1).encoded.lexicographicallyPrecedes(ProducerKey.bound(2)))
    }

    @Test func aChunkRecordRefusesAShortHeaderAndADamagedChecksum() throws {
        let record = ChunkRecord(
            status: .pending, origin: .signed, producer: Self.producer, slot: 4, expiry: 9_000, units: Self.units)
        let stored = record.encoded + [0xAB]
        let parsed = try stored.withUnsafeBytes { try ChunkRecord.parse($0) }
        #expect(parsed.record.slot == 4 && parsed.body.count == 1)
        #expect(ChunkStore.recordHeaderSize == record.encoded.count)
        #expect { _ = try record.encoded.withUnsafeBytes { try ChunkRecord.parse($0) } } throws: {
            ChunkStoreError.Code.corruptRecord ~= $0
        }
        var damaged = stored
        damaged[5] ^= 1
        #expect { _ = try damaged.withUnsafeBytes { try ChunkRecord.parse($0) } } throws: {
            ChunkStoreError.Code.corruptRecord ~= $0
        }
    }
}
