import DSMR

/// Builds and parses the store's fixed-width, big-endian keys.
enum Keys {
    static let producerSize = 20
    static let idSize = 32

    static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    static func uint64(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt64 {
        UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    static func uint64(_ bytes: [UInt8], at offset: Int) -> UInt64 {
        bytes.withUnsafeBytes { uint64($0, at: offset) }
    }

    /// Expiry times are non-negative milliseconds; negative ones sort as 0.
    static func expiryBits(_ expiry: Int64) -> UInt64 { UInt64(max(expiry, 0)) }

    /// `chunks`: expiry, chunk id. Expiry first keeps records that expire
    /// together on the same pages, so collecting them frees whole pages
    /// instead of touching one page per record.
    static func chunk(_ expiry: Int64, _ id: ChunkID) -> [UInt8] {
        var key: [UInt8] = []
        key.reserveCapacity(8 + idSize)
        append(expiryBits(expiry), to: &key)
        key.append(contentsOf: id.bytes)
        return key
    }

    /// The size of a `chunks` key.
    static let chunkKeySize = 8 + idSize

    /// `by_slot_producer`: slot, producer, chunk id. Slot first, so the rows
    /// that expire together are neighbours; a producer's chunks in a slot are
    /// one seek away.
    static func slotProducer(_ slot: UInt64, _ producer: NodeID, _ id: ChunkID) -> [UInt8] {
        var key = slotProducerPrefix(slot, producer)
        key.append(contentsOf: id.bytes)
        return key
    }

    /// The size of a `by_slot_producer` key.
    static let slotProducerSize = 8 + producerSize + idSize

    /// `by_slot_producer` prefix for one slot and producer.
    static func slotProducerPrefix(_ slot: UInt64, _ producer: NodeID) -> [UInt8] {
        var key: [UInt8] = []
        key.reserveCapacity(slotProducerSize)
        append(slot, to: &key)
        key.append(contentsOf: producer.bytes)
        return key
    }

    /// `by_slot_producer` value: the chunk's expiry, which locates its record.
    static func expiryValue(_ expiry: Int64) -> [UInt8] {
        var value: [UInt8] = []
        append(expiryBits(expiry), to: &value)
        return value
    }

    /// `by_expiry`: status, expiry, chunk id.
    static func expiry(_ status: ChunkStatus, _ expiry: Int64, _ id: ChunkID) -> [UInt8] {
        var key: [UInt8] = [status.rawValue]
        key.reserveCapacity(1 + 8 + idSize)
        append(expiryBits(expiry), to: &key)
        key.append(contentsOf: id.bytes)
        return key
    }

    /// `by_expiry` bound: every key of `status` with expiry below `expiry`
    /// sorts before this one.
    static func expiryBound(_ status: ChunkStatus, _ expiry: Int64) -> [UInt8] {
        var key: [UInt8] = [status.rawValue]
        append(expiryBits(expiry), to: &key)
        return key
    }

    /// `certificates`: expiry, chunk id.
    static func certificate(_ expiry: Int64, _ id: ChunkID) -> [UInt8] {
        var key: [UInt8] = []
        key.reserveCapacity(8 + idSize)
        append(expiryBits(expiry), to: &key)
        key.append(contentsOf: id.bytes)
        return key
    }

    /// `certificates` bound at `expiry`.
    static func certificateBound(_ expiry: Int64) -> [UInt8] {
        var key: [UInt8] = []
        append(expiryBits(expiry), to: &key)
        return key
    }

    /// `signed` and `evidence`: slot, producer. `ledger`: window, producer.
    /// The number comes first so that pruning everything below a slot or
    /// window is one contiguous range, whatever the number of producers.
    static func perProducer(_ producer: NodeID, _ number: UInt64) -> [UInt8] {
        var key: [UInt8] = []
        key.reserveCapacity(8 + producerSize)
        append(number, to: &key)
        key.append(contentsOf: producer.bytes)
        return key
    }

    /// The size of a `signed`, `ledger` or `evidence` key.
    static let perProducerSize = 8 + producerSize

    /// Parses a `signed`, `ledger` or `evidence` key, or nil when it has
    /// another shape.
    static func parsePerProducer(_ key: UnsafeRawBufferPointer) -> (producer: NodeID, number: UInt64)? {
        guard key.count == perProducerSize, let producer = try? NodeID(bytes: key[8...]) else { return nil }
        return (producer, uint64(key, at: 0))
    }

    /// `blocks`: height.
    static func height(_ height: UInt64) -> [UInt8] {
        var key: [UInt8] = []
        append(height, to: &key)
        return key
    }
}
