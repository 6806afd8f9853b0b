import DSMR
import LMDB

extension ChunkStore {
    /// Keeps a certificate, even when the chunk itself is not held. The
    /// caller has verified it. Returns false when it is already held or has
    /// expired (expiry at or below the watermark).
    @discardableResult
    public func addCertificate(_ certificate: ChunkCertificate) async throws -> Bool {
        let tables = self.tables
        let meta = self.meta
        let bytes = certificate.encoded()
        let reference = certificate.reference
        return try await submit { txn in
            guard reference.expiry > (try meta.watermark(txn)) else { return false }
            let key = Keys.certificate(reference.expiry, reference.chunkID)
            if try txn.contains(key, in: tables.certificates) { return false }
            let status = try Self.summary(reference.chunkID, expiry: reference.expiry, tables, txn)?.status ?? .pending
            try txn.put([status.rawValue] + bytes, forKey: key, in: tables.certificates)
            return true
        }
    }

    /// Certificates of chunks still valid at `time` (expiry after it) and not
    /// yet accepted, in expiry order, at most `limit`: what a block builder
    /// walks.
    public func certificates(validAt time: Int64, limit: Int = .max) throws -> [ChunkCertificate] {
        let limits = DecodingLimits(rules: configuration.rules)
        // Nothing expires after the last representable time.
        guard time < .max, limit > 0 else { return [] }
        let lower = Keys.certificateBound(time + 1)
        return try snapshot { txn in
            var found: [ChunkCertificate] = []
            try txn.scan(tables.certificates, in: .from(lower)) { entry in
                guard entry.value.first == ChunkStatus.pending.rawValue else { return .next }
                found.append(try Self.decodeCertificate(entry.value, limits: limits))
                return found.count < limit ? .next : .stop
            }
            return found
        }
    }

    /// The certificate for `reference`'s chunk, if held.
    public func certificate(for reference: ChunkReference) throws -> ChunkCertificate? {
        let limits = DecodingLimits(rules: configuration.rules)
        let key = Keys.certificate(reference.expiry, reference.chunkID)
        return try snapshot { txn in
            try txn.withValue(forKey: key, in: tables.certificates) { value in
                try Self.decodeCertificate(value, limits: limits)
            }
        }
    }

    static func decodeCertificate(_ value: UnsafeRawBufferPointer, limits: DecodingLimits) throws -> ChunkCertificate {
        guard let status = value.first, ChunkStatus(rawValue: status) != nil else {
            throw ChunkStoreError(.corruptRecord, "certificate row has no valid status byte")
        }
        do {
            return try ChunkCertificate(decoding: Array(value.dropFirst()), limits: limits)
        } catch {
            throw ChunkStoreError(.corruptRecord, "certificate row does not decode: \(error)")
        }
    }
}
