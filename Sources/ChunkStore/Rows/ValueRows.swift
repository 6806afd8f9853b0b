import Crypto
import DSMR

/// A `by_slot_producer` value: the chunk's expiry (8), which locates its
/// record.
package struct IndexedExpiry: Row, Hashable {
    package static let size: Int? = 8
    package var expiry: Int64

    package init(_ expiry: Int64) { self.expiry = expiry }

    package var encoded: [UInt8] {
        var writer = RowWriter(capacity: 8)
        writer.uint64(expiryBits(expiry))
        return writer.bytes
    }

    package init(decoding bytes: UnsafeRawBufferPointer) throws {
        try RowReader.expect(bytes, size: 8, "a by_slot_producer value")
        var reader = RowReader(bytes, "a by_slot_producer value")
        expiry = try reader.int64()
    }
}

/// A `certificates` value: a form byte (`0x80` | the chunk's status), a
/// checksum (8: the first 8 bytes of the SHA-256 of the form byte and the
/// certificate), then the certificate's canonical bytes (decoded with the
/// rules' limits by the reader). Rows written before the checksum start with
/// the bare status (0 or 1) and the certificate; they still decode, unchecked,
/// and are rewritten in the checked form whenever the row is written again.
package struct CertificateRow: Row {
    package static let size: Int? = nil
    /// Set in the form byte of a row that carries a checksum.
    package static let checkedForm: UInt8 = 0x80
    package static let checksumSize = 8
    package var status: ChunkStatus
    package var certificate: [UInt8]
    /// Whether the row was decoded from the form without a checksum.
    package private(set) var isUnchecked = false

    package init(status: ChunkStatus, certificate: [UInt8]) {
        self.status = status
        self.certificate = certificate
    }

    /// The row as written now, with its checksum.
    package var encoded: [UInt8] {
        let form = Self.checkedForm | status.rawValue
        var writer = RowWriter(capacity: 1 + Self.checksumSize + certificate.count)
        writer.uint8(form)
        writer.bytes(Self.checksum(form: form, certificate))
        writer.bytes(certificate)
        return writer.bytes
    }

    /// The row in the form it was decoded from (a row without a checksum
    /// stays without one): what a dump of an older store holds.
    package var storedForm: [UInt8] { isUnchecked ? [status.rawValue] + certificate : encoded }

    package init(decoding bytes: UnsafeRawBufferPointer) throws {
        var reader = RowReader(bytes, "a certificate row")
        let form = try reader.uint8()
        guard let status = ChunkStatus(rawValue: form & ~Self.checkedForm) else {
            throw ChunkStoreError(.corruptRecord, "certificate row has unknown status \(form & ~Self.checkedForm)")
        }
        self.status = status
        guard form & Self.checkedForm != 0 else {
            isUnchecked = true
            certificate = Array(reader.rest())
            return
        }
        let stored = Array(try reader.bytes(Self.checksumSize))
        certificate = Array(reader.rest())
        guard stored == Self.checksum(form: form, certificate) else {
            throw ChunkStoreError(.corruptRecord, "certificate row does not match its checksum")
        }
    }

    private static func checksum(form: UInt8, _ certificate: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: [form])
        hasher.update(data: certificate)
        return Array(hasher.finalize().prefix(checksumSize))
    }

    /// Decodes the certificate.
    package func decode(limits: DecodingLimits) throws -> ChunkCertificate {
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
    package static var size: Int? { fixedByteCount }
    package var encoded: [UInt8] { fixedBytes }

    package init(decoding bytes: UnsafeRawBufferPointer) throws {
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
package struct EvidenceRow: Row {
    package static let version: UInt8 = 2
    package static let size: Int? = nil
    /// The largest public key a row may carry (Ed25519's are 32 bytes).
    package static let maxKeyBytes = 64
    package var signedChunkID: ChunkID
    package var producerKey: [UInt8]
    package var signedChunk: [UInt8]
    package var conflictingChunk: [UInt8]

    package init(signedChunkID: ChunkID, producerKey: [UInt8], signedChunk: [UInt8], conflictingChunk: [UInt8]) {
        self.signedChunkID = signedChunkID
        self.producerKey = producerKey
        self.signedChunk = signedChunk
        self.conflictingChunk = conflictingChunk
    }

    package var encoded: [UInt8] {
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

    package init(decoding bytes: UnsafeRawBufferPointer) throws {
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
