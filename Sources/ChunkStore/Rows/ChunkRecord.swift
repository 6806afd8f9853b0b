import Crypto
import DSMR

/// Where a chunk stands in its life.
public enum ChunkStatus: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Stored, not yet included in an accepted block.
    case pending = 0
    /// Referenced by an accepted block.
    case accepted = 1

    public var description: String { self == .pending ? "pending" : "accepted" }
}

/// How a chunk came to be stored.
public enum ChunkOrigin: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// A remote producer's chunk that this node signed.
    case signed = 0
    /// This node's own chunk.
    case own = 1
    /// Fetched after a block referencing it was accepted; not signed here.
    case fetched = 2

    /// Whether the chunk counts against its producer's rate limit here.
    package var countsTowardsLedger: Bool { self != .fetched }

    public var description: String {
        switch self {
        case .signed: "signed"
        case .own: "own"
        case .fetched: "fetched"
        }
    }
}

/// The primary record of a chunk in the `chunks` database: a fixed header
/// followed by the chunk's canonical bytes, whose SHA-256 is the key, so the
/// record checks itself.
///
/// Layout: version (1) | status (1) | origin (1) | producer (20) | slot (8) |
/// expiry (8) | units (40) | checksum (8) | chunk bytes (rest). The checksum
/// is the first 8 bytes of the SHA-256 of the header bytes before it, so
/// damage to the header is found as surely as damage to the chunk.
///
/// As a `Row` it is the header alone; `parse(_:)` also lends the chunk's bytes.
package struct ChunkRecord: Row, Sendable {
    package static let version: UInt8 = 1
    /// The header without its checksum.
    package static let checkedSize = 1 + 1 + 1 + NodeID.byteCount + 8 + 8 + Dimensions.fixedByteCount
    package static let checksumSize = 8
    /// The size of the header that precedes the chunk's bytes.
    package static let headerSize = checkedSize + checksumSize
    package static let size: Int? = nil

    package var status: ChunkStatus
    package var origin: ChunkOrigin
    package var producer: NodeID
    package var slot: UInt64
    package var expiry: Int64
    package var units: Dimensions

    package init(
        status: ChunkStatus, origin: ChunkOrigin, producer: NodeID, slot: UInt64, expiry: Int64, units: Dimensions
    ) {
        self.status = status
        self.origin = origin
        self.producer = producer
        self.slot = slot
        self.expiry = expiry
        self.units = units
    }

    /// The header as stored.
    package var encoded: [UInt8] {
        var writer = RowWriter(capacity: Self.headerSize)
        writer.uint8(Self.version)
        writer.uint8(status.rawValue)
        writer.uint8(origin.rawValue)
        writer.bytes(producer.bytes)
        writer.uint64(slot)
        writer.int64(expiry)
        writer.bytes(units.fixedBytes)
        let checksum = writer.bytes.withUnsafeBytes { Self.checksum($0) }
        writer.bytes(checksum)
        precondition(writer.bytes.count == Self.headerSize)
        return writer.bytes
    }

    /// Writes the header into the first `headerSize` bytes of `buffer`.
    package func writeHeader(into buffer: UnsafeMutableRawBufferPointer) {
        encoded.withUnsafeBytes { buffer.copyMemory(from: $0) }
    }

    /// The checksum of a header's first `checkedSize` bytes.
    package static func checksum(_ header: UnsafeRawBufferPointer) -> [UInt8] {
        Array(SHA256.hash(data: UnsafeRawBufferPointer(rebasing: header.prefix(checkedSize))).prefix(checksumSize))
    }

    /// Decodes the header of a stored record (which must also hold a chunk).
    package init(decoding value: UnsafeRawBufferPointer) throws {
        self = try Self.parse(value).record
    }

    /// Parses the header of a stored record; `body` is the chunk's bytes.
    package static func parse(
        _ value: UnsafeRawBufferPointer
    ) throws -> (record: ChunkRecord, body: UnsafeRawBufferPointer) {
        guard value.count > headerSize else {
            throw ChunkStoreError(.corruptRecord, "chunk record of \(value.count) bytes is shorter than its header")
        }
        var reader = RowReader(value, "a chunk record")
        let version = try reader.uint8()
        guard version == Self.version else {
            throw ChunkStoreError(.corruptRecord, "chunk record version \(version) is not \(Self.version)")
        }
        guard
            checksum(value).elementsEqual(
                UnsafeRawBufferPointer(rebasing: value[checkedSize..<headerSize]))
        else {
            throw ChunkStoreError(.corruptRecord, "chunk record header does not match its checksum")
        }
        let rawStatus = try reader.uint8()
        guard let status = ChunkStatus(rawValue: rawStatus) else {
            throw ChunkStoreError(.corruptRecord, "chunk record status \(rawStatus) is unknown")
        }
        let rawOrigin = try reader.uint8()
        guard let origin = ChunkOrigin(rawValue: rawOrigin) else {
            throw ChunkStoreError(.corruptRecord, "chunk record origin \(rawOrigin) is unknown")
        }
        do {
            let producer = try NodeID(bytes: reader.bytes(NodeID.byteCount))
            let slot = try reader.uint64()
            let expiry = try reader.int64()
            let units = try Dimensions(fixedBytes: reader.bytes(Dimensions.fixedByteCount))
            _ = try reader.bytes(checksumSize)
            let record = ChunkRecord(
                status: status, origin: origin, producer: producer, slot: slot, expiry: expiry, units: units)
            return (record, reader.rest())
        } catch let error as ChunkStoreError {
            throw error
        } catch {
            throw ChunkStoreError(.corruptRecord, "chunk record header: \(error)")
        }
    }

    /// The chunk's bytes in a stored record, after checking only that the
    /// record is longer than a header (for serving bytes without decoding).
    package static func body(of value: UnsafeRawBufferPointer) throws -> UnsafeRawBufferPointer {
        guard value.count > headerSize else {
            throw ChunkStoreError(.corruptRecord, "chunk record of \(value.count) bytes is shorter than its header")
        }
        return UnsafeRawBufferPointer(rebasing: value[headerSize...])
    }
}

/// A row of `signed`: the chunk this node signed for a (producer, slot).
///
/// Layout: version (1) | chunk id (32) | expiry (8) | flags (1). Flag bit 0
/// is set when the chunk is not held here: the row was imported from a
/// signing history, or recovery found the chunk lost. Such a row still
/// refuses every other chunk for its slot. Bit 1 is set when the chunk's
/// units are in this store's ledger although the chunk is not held (lost in
/// recovery), so signing it again must not charge them twice.
package struct SignedRecord: Row, Sendable, Hashable {
    package static let version: UInt8 = 1
    package static let size: Int? = 1 + ChunkID.byteCount + 8 + 1

    package var chunkID: ChunkID
    package var expiry: Int64
    package var notHeld: Bool
    package var charged: Bool

    package var encoded: [UInt8] {
        var writer = RowWriter(capacity: Self.size!)
        writer.uint8(Self.version)
        writer.bytes(chunkID.bytes)
        writer.int64(expiry)
        writer.uint8((notHeld ? 1 : 0) | (charged ? 2 : 0))
        return writer.bytes
    }

    /// A row for a chunk signed and stored here.
    package static func held(_ chunkID: ChunkID, expiry: Int64) -> SignedRecord {
        SignedRecord(chunkID: chunkID, expiry: expiry, notHeld: false, charged: false)
    }

    /// A row imported from another store's signing history.
    package static func imported(_ chunkID: ChunkID, expiry: Int64) -> SignedRecord {
        SignedRecord(chunkID: chunkID, expiry: expiry, notHeld: true, charged: false)
    }

    /// The row of a chunk recovery had to drop; its units stay charged.
    package var lost: SignedRecord { SignedRecord(chunkID: chunkID, expiry: expiry, notHeld: true, charged: true) }

    package init(chunkID: ChunkID, expiry: Int64, notHeld: Bool, charged: Bool) {
        self.chunkID = chunkID
        self.expiry = expiry
        self.notHeld = notHeld
        self.charged = charged
    }

    package init(decoding value: UnsafeRawBufferPointer) throws {
        try RowReader.expect(value, size: Self.size!, "a signed row")
        var reader = RowReader(value, "a signed row")
        let version = try reader.uint8()
        chunkID = try ChunkID(bytes: reader.bytes(ChunkID.byteCount))
        expiry = try reader.int64()
        let flags = try reader.uint8()
        guard version == Self.version, flags <= 3 else {
            throw ChunkStoreError(.corruptRecord, "a signed row has version \(version) and flags \(flags)")
        }
        notHeld = flags & 1 != 0
        charged = flags & 2 != 0
    }

    /// The key of the signed chunk's record.
    package var chunkKey: ChunkKey { ChunkKey(expiry: expiry, id: chunkID) }
}
