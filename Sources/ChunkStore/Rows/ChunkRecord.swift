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
    var countsTowardsLedger: Bool { self != .fetched }

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
/// is the first 8 bytes of the SHA-256 of the 79 bytes before it, so damage
/// to the header is found as surely as damage to the chunk.
struct ChunkRecord: Sendable {
    static let version: UInt8 = 1
    /// The header without its checksum.
    static let checkedSize = 1 + 1 + 1 + 20 + 8 + 8 + 40
    static let headerSize = checkedSize + 8

    var status: ChunkStatus
    var origin: ChunkOrigin
    var producer: NodeID
    var slot: UInt64
    var expiry: Int64
    var units: Dimensions

    /// Writes the header into the first `headerSize` bytes of `buffer`.
    func writeHeader(into buffer: UnsafeMutableRawBufferPointer) {
        var header: [UInt8] = [Self.version, status.rawValue, origin.rawValue]
        header.reserveCapacity(Self.headerSize)
        header.append(contentsOf: producer.bytes)
        Keys.append(slot, to: &header)
        Keys.append(UInt64(bitPattern: expiry), to: &header)
        header.append(contentsOf: units.fixedBytes)
        header.withUnsafeBytes { header.append(contentsOf: Self.checksum($0)) }
        precondition(header.count == Self.headerSize)
        header.withUnsafeBytes { buffer.copyMemory(from: $0) }
    }

    /// The header as stored.
    var headerBytes: [UInt8] {
        [UInt8](unsafeUninitializedCapacity: Self.headerSize) { buffer, count in
            writeHeader(into: UnsafeMutableRawBufferPointer(buffer))
            count = Self.headerSize
        }
    }

    static func checksum(_ checked: UnsafeRawBufferPointer) -> [UInt8] {
        Array(SHA256.hash(data: UnsafeRawBufferPointer(rebasing: checked[0..<checkedSize])).prefix(8))
    }

    /// Parses the header of a stored record; `body` is the chunk's bytes.
    static func parse(_ value: UnsafeRawBufferPointer) throws -> (record: ChunkRecord, body: UnsafeRawBufferPointer) {
        guard value.count > headerSize else {
            throw ChunkStoreError(.corruptRecord, "chunk record of \(value.count) bytes is shorter than its header")
        }
        guard value[0] == version else {
            throw ChunkStoreError(.corruptRecord, "chunk record version \(value[0]) is not \(version)")
        }
        guard checksum(value).elementsEqual(value[checkedSize..<headerSize]) else {
            throw ChunkStoreError(.corruptRecord, "chunk record header does not match its checksum")
        }
        guard let status = ChunkStatus(rawValue: value[1]) else {
            throw ChunkStoreError(.corruptRecord, "chunk record status \(value[1]) is unknown")
        }
        guard let origin = ChunkOrigin(rawValue: value[2]) else {
            throw ChunkStoreError(.corruptRecord, "chunk record origin \(value[2]) is unknown")
        }
        do {
            let producer = try NodeID(bytes: value[3..<23])
            let slot = Keys.uint64(value, at: 23)
            let expiry = Int64(bitPattern: Keys.uint64(value, at: 31))
            let units = try Dimensions(fixedBytes: value[39..<79])
            let record = ChunkRecord(
                status: status, origin: origin, producer: producer, slot: slot, expiry: expiry, units: units)
            return (record, UnsafeRawBufferPointer(rebasing: value[headerSize...]))
        } catch {
            throw ChunkStoreError(.corruptRecord, "chunk record header: \(error)")
        }
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
struct SignedRecord: Sendable, Hashable {
    static let version: UInt8 = 1
    static let size = 42

    var chunkID: ChunkID
    var expiry: Int64
    var notHeld: Bool
    var charged: Bool

    var bytes: [UInt8] {
        var bytes = [Self.version] + chunkID.bytes
        Keys.append(UInt64(bitPattern: expiry), to: &bytes)
        bytes.append((notHeld ? 1 : 0) | (charged ? 2 : 0))
        return bytes
    }

    /// A row for a chunk signed and stored here.
    static func held(_ chunkID: ChunkID, expiry: Int64) -> SignedRecord {
        SignedRecord(chunkID: chunkID, expiry: expiry, notHeld: false, charged: false)
    }

    /// A row imported from another store's signing history.
    static func imported(_ chunkID: ChunkID, expiry: Int64) -> SignedRecord {
        SignedRecord(chunkID: chunkID, expiry: expiry, notHeld: true, charged: false)
    }

    /// The row of a chunk recovery had to drop; its units stay charged.
    var lost: SignedRecord { SignedRecord(chunkID: chunkID, expiry: expiry, notHeld: true, charged: true) }

    init(chunkID: ChunkID, expiry: Int64, notHeld: Bool, charged: Bool) {
        self.chunkID = chunkID
        self.expiry = expiry
        self.notHeld = notHeld
        self.charged = charged
    }

    init(_ value: UnsafeRawBufferPointer) throws {
        guard value.count == Self.size, value[0] == Self.version, value[41] <= 3 else {
            throw ChunkStoreError(.corruptRecord, "signed row of \(value.count) bytes is malformed")
        }
        chunkID = try ChunkID(bytes: value[1..<33])
        expiry = Int64(bitPattern: Keys.uint64(value, at: 33))
        notHeld = value[41] & 1 != 0
        charged = value[41] & 2 != 0
    }

    /// The key of the signed chunk's record.
    var chunkKey: [UInt8] { Keys.chunk(expiry, chunkID) }
}
