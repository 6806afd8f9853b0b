import DSMR

/// A `meta` key: the row's name in UTF-8.
package struct MetaName: Row, Hashable {
    package static let size: Int? = nil
    package let bytes: [UInt8]
    package init(_ name: String) { bytes = Array(name.utf8) }
    package var encoded: [UInt8] { bytes }
    package init(decoding bytes: UnsafeRawBufferPointer) throws { self.bytes = Array(bytes) }
    package var name: String { String(decoding: bytes, as: UTF8.self) }
}

/// One `meta` row: its name and the type of its value.
package struct MetaField<Value: Row>: Sendable {
    package let key: MetaName
    package init(_ name: String) { key = MetaName(name) }
}

/// The store's `meta` rows: identity, schema version, watermark and tips.
/// Integers are big-endian.
package enum MetaKey {
    package static let version = MetaField<UInt32Row>("version")
    package static let network = MetaField<UInt32Row>("network")
    package static let chain = MetaField<BytesRow>("chain")
    package static let node = MetaField<BytesRow>("node")
    package static let rules = MetaField<RulesRow>("rules")
    package static let retention = MetaField<RetentionRow>("retention")
    /// Chain time (ms), as an Int64.
    package static let watermark = MetaField<Int64Row>("watermark")
    package static let acceptedTip = MetaField<BlockTip>("accepted_tip")
    package static let executedTip = MetaField<UInt64Row>("executed_tip")
    /// The first slot that may still be signed; absent until the first
    /// `signed` rows are pruned.
    package static let signingFloor = MetaField<UInt64Row>("signing_floor")
    /// How long (ms) accepted blocks are kept, as an Int64; absent when they
    /// are kept as long as accepted chunks.
    package static let blockRetention = MetaField<Int64Row>("block_retention")
    /// Present only while a dump is being loaded or a store salvaged into
    /// this one: an open refuses the store until it is removed.
    package static let loadIncomplete = MetaField<BytesRow>("load_incomplete")

    /// The rows that say what the store belongs to (a new store writes its
    /// own).
    package static let identity: [[UInt8]] = [
        version.key.bytes, network.key.bytes, chain.key.bytes, node.key.bytes, rules.key.bytes, retention.key.bytes,
    ]

    /// Every row a store may hold, by name.
    package static let all = [
        version.key, network.key, chain.key, node.key, rules.key, retention.key, watermark.key, acceptedTip.key,
        executedTip.key, signingFloor.key, blockRetention.key,
    ]
}

/// A 4-byte big-endian `meta` value.
package struct UInt32Row: Row {
    package static let size: Int? = 4
    package var value: UInt32
    package init(_ value: UInt32) { self.value = value }
    package var encoded: [UInt8] {
        var writer = RowWriter(capacity: 4)
        writer.uint32(value)
        return writer.bytes
    }
    package init(decoding bytes: UnsafeRawBufferPointer) throws {
        try RowReader.expect(bytes, size: 4, "a 4-byte meta value")
        var reader = RowReader(bytes, "a 4-byte meta value")
        value = try reader.uint32()
    }
}

/// An 8-byte big-endian unsigned `meta` value.
package struct UInt64Row: Row {
    package static let size: Int? = 8
    package var value: UInt64
    package init(_ value: UInt64) { self.value = value }
    package var encoded: [UInt8] {
        var writer = RowWriter(capacity: 8)
        writer.uint64(value)
        return writer.bytes
    }
    package init(decoding bytes: UnsafeRawBufferPointer) throws {
        try RowReader.expect(bytes, size: 8, "an 8-byte meta value")
        var reader = RowReader(bytes, "an 8-byte meta value")
        value = try reader.uint64()
    }
}

/// An 8-byte big-endian signed `meta` value (chain time in ms).
package struct Int64Row: Row {
    package static let size: Int? = 8
    package var value: Int64
    package init(_ value: Int64) { self.value = value }
    package var encoded: [UInt8] { UInt64Row(UInt64(bitPattern: value)).encoded }
    package init(decoding bytes: UnsafeRawBufferPointer) throws {
        value = Int64(bitPattern: try UInt64Row(decoding: bytes).value)
    }
}

/// `meta` retention: accepted and evidence retention, Int64 ms each.
package struct RetentionRow: Row {
    package static let size: Int? = 16
    package var accepted: Int64
    package var evidence: Int64
    package init(accepted: Int64, evidence: Int64) {
        self.accepted = accepted
        self.evidence = evidence
    }
    package var encoded: [UInt8] {
        var writer = RowWriter(capacity: 16)
        writer.int64(accepted)
        writer.int64(evidence)
        return writer.bytes
    }
    package init(decoding bytes: UnsafeRawBufferPointer) throws {
        try RowReader.expect(bytes, size: 16, "meta retention")
        var reader = RowReader(bytes, "meta retention")
        accepted = try reader.int64()
        evidence = try reader.int64()
    }
}

/// The last accepted block: its height and id.
public struct BlockTip: Sendable, Hashable, CustomStringConvertible {
    /// The block's height.
    public let height: UInt64
    /// The block's id.
    public let id: BlockID

    /// Creates a tip.
    public init(height: UInt64, id: BlockID) {
        self.height = height
        self.id = id
    }

    public var description: String { "\(height) (\(id))" }
}

/// `meta` accepted_tip: height (8), block id (32).
extension BlockTip: Row {
    package static var size: Int? { 8 + BlockID.byteCount }

    package var encoded: [UInt8] {
        var writer = RowWriter(capacity: 40)
        writer.uint64(height)
        writer.bytes(id.bytes)
        return writer.bytes
    }

    package init(decoding bytes: UnsafeRawBufferPointer) throws {
        try RowReader.expect(bytes, size: 8 + BlockID.byteCount, "meta accepted_tip")
        var reader = RowReader(bytes, "meta accepted_tip")
        let height = try reader.uint64()
        self.init(height: height, id: try BlockID(bytes: reader.rest()))
    }
}

/// Typed `meta` reads, in any store transaction.
extension StoreTransaction where Self: ~Copyable {
    /// The value of a `meta` row, or nil; a malformed one throws
    /// `corruptRecord` naming the row.
    package func meta<Value>(_ field: MetaField<Value>) throws -> Value? {
        try withValue(forKey: field.key.encoded, in: tables.meta.database) { bytes in
            do {
                return try Value(decoding: bytes)
            } catch let error as ChunkStoreError {
                throw ChunkStoreError(error.code, "meta \(field.key.name): \(error.message)")
            } catch {
                throw ChunkStoreError(.corruptRecord, "meta \(field.key.name): \(error)")
            }
        }
    }

    /// The garbage-collection watermark (ms); 0 before the first.
    package func watermark() throws -> Int64 { try meta(MetaKey.watermark)?.value ?? 0 }

    /// The last accepted block, or nil before the first.
    package func acceptedTip() throws -> BlockTip? { try meta(MetaKey.acceptedTip) }

    /// The executed height, or nil.
    package func executedTip() throws -> UInt64? { try meta(MetaKey.executedTip)?.value }

    /// The first slot that may still be signed: every slot below it had its
    /// `signed` rows pruned or its chunks collected (or was imported as
    /// such), so no change of rules may make it signable again. 0 before the
    /// first collection.
    package func signingFloor() throws -> UInt64 { try meta(MetaKey.signingFloor)?.value ?? 0 }
}

/// Typed `meta` writes.
extension StoreWriter {
    package func setMeta<Value>(_ field: MetaField<Value>, _ value: Value) throws {
        try put(tables.meta, field.key, BytesRow(value.encoded))
    }

    package func setWatermark(_ watermark: Int64) throws { try setMeta(MetaKey.watermark, Int64Row(watermark)) }

    package func setAcceptedTip(_ tip: BlockTip) throws { try setMeta(MetaKey.acceptedTip, tip) }

    package func setExecutedTip(_ height: UInt64) throws { try setMeta(MetaKey.executedTip, UInt64Row(height)) }

    /// Raises the signing floor to `slot`; never lowers it. A floor row that
    /// does not decode is replaced (signing refuses while it is damaged).
    package func raiseSigningFloor(to slot: UInt64) throws {
        if let floor = try? signingFloor(), floor >= slot { return }
        try setMeta(MetaKey.signingFloor, UInt64Row(slot))
    }
}
