import DSMR

/// A `by_slot_producer` value: the chunk's expiry (8), which locates its
/// record.
struct IndexedExpiry: Row, Hashable {
    static let size: Int? = 8
    var expiry: Int64

    init(_ expiry: Int64) { self.expiry = expiry }

    var encoded: [UInt8] {
        var writer = RowWriter(capacity: 8)
        writer.uint64(expiryBits(expiry))
        return writer.bytes
    }

    init(decoding bytes: UnsafeRawBufferPointer) throws {
        try RowReader.expect(bytes, size: 8, "a by_slot_producer value")
        var reader = RowReader(bytes, "a by_slot_producer value")
        expiry = try reader.int64()
    }
}

/// A `certificates` value: the chunk's status (1), then the certificate's
/// canonical bytes (decoded with the rules' limits by the reader).
struct CertificateRow: Row {
    static let size: Int? = nil
    var status: ChunkStatus
    var certificate: [UInt8]

    init(status: ChunkStatus, certificate: [UInt8]) {
        self.status = status
        self.certificate = certificate
    }

    var encoded: [UInt8] { [status.rawValue] + certificate }

    init(decoding bytes: UnsafeRawBufferPointer) throws {
        var reader = RowReader(bytes, "a certificate row")
        let raw = try reader.uint8()
        guard let status = ChunkStatus(rawValue: raw) else {
            throw ChunkStoreError(.corruptRecord, "certificate row has unknown status \(raw)")
        }
        self.status = status
        certificate = Array(reader.rest())
    }

    /// Decodes the certificate.
    func decode(limits: DecodingLimits) throws -> ChunkCertificate {
        do {
            return try ChunkCertificate(decoding: certificate, limits: limits)
        } catch {
            throw ChunkStoreError(.corruptRecord, "certificate row does not decode: \(error)")
        }
    }
}

/// A `ledger` value: a producer's usage in one window, as `Dimensions`'
/// fixed 40 bytes.
extension Dimensions: Row {
    static var size: Int? { fixedByteCount }
    var encoded: [UInt8] { fixedBytes }

    init(decoding bytes: UnsafeRawBufferPointer) throws {
        try RowReader.expect(bytes, size: Self.fixedByteCount, "a ledger row")
        try self.init(fixedBytes: bytes)
    }
}

/// An `evidence` value, version 2: version (1) | signed chunk id (32) |
/// producer public key length (4) and bytes (32, or 0 when the key was not
/// known) | signed chunk length (4) and bytes (length 0 when the signed chunk
/// is not held, as after a signing-history import) | conflicting chunk
/// length (4) and bytes. Version 1 rows, written before the key was
/// recorded, lack the key field and still decode (with no key).
struct EvidenceRow: Row {
    static let version: UInt8 = 2
    static let size: Int? = nil
    /// The largest public key a row may carry (Ed25519's are 32 bytes).
    static let maxKeyBytes = 64
    var signedChunkID: ChunkID
    var producerKey: [UInt8]
    var signedChunk: [UInt8]
    var conflictingChunk: [UInt8]

    init(signedChunkID: ChunkID, producerKey: [UInt8], signedChunk: [UInt8], conflictingChunk: [UInt8]) {
        self.signedChunkID = signedChunkID
        self.producerKey = producerKey
        self.signedChunk = signedChunk
        self.conflictingChunk = conflictingChunk
    }

    var encoded: [UInt8] {
        let parts = [producerKey, signedChunk, conflictingChunk]
        var writer = RowWriter(capacity: 1 + ChunkID.byteCount + 12 + parts.map(\.count).reduce(0, +))
        writer.uint8(Self.version)
        writer.bytes(signedChunkID.bytes)
        for part in parts {
            writer.uint32(UInt32(part.count))
            writer.bytes(part)
        }
        return writer.bytes
    }

    init(decoding bytes: UnsafeRawBufferPointer) throws {
        var reader = RowReader(bytes, "an evidence row")
        let version = try reader.uint8()
        guard version == 1 || version == Self.version else {
            throw ChunkStoreError(.corruptRecord, "an evidence row has version \(version), not 1 or \(Self.version)")
        }
        signedChunkID = try ChunkID(bytes: reader.bytes(ChunkID.byteCount))
        if version == 1 {
            producerKey = []
        } else {
            let count = Int(try reader.uint32())
            guard count <= Self.maxKeyBytes else {
                throw ChunkStoreError(.corruptRecord, "an evidence row's public key has \(count) bytes")
            }
            producerKey = Array(try reader.bytes(count))
        }
        signedChunk = Array(try reader.bytes(Int(try reader.uint32())))
        conflictingChunk = Array(try reader.bytes(Int(try reader.uint32())))
        try reader.finish()
    }
}
