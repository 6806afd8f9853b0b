import DSMR

extension ChunkStore {
    /// Keeps a certificate, even when the chunk itself is not held. The
    /// caller has verified it. Returns false when it is already held or has
    /// expired (expiry at or below the watermark).
    @discardableResult
    public func addCertificate(_ certificate: ChunkCertificate) async throws -> Bool {
        let bytes = certificate.encoded()
        let reference = certificate.reference
        return try await submit { w in
            guard reference.expiry > (try w.watermark()) else { return false }
            let key = ChunkKey(expiry: reference.expiry, id: reference.chunkID)
            if try w.contains(w.tables.certificates, key) { return false }
            let status = try w.summary(key)?.status ?? .pending
            try w.put(w.tables.certificates, key, CertificateRow(status: status, certificate: bytes))
            return true
        }
    }

    /// Certificates of chunks still valid at `time` (expiry after it) and not
    /// yet accepted, in expiry order, at most `limit`: what a block builder
    /// walks.
    public func certificates(validAt time: ChainTime, limit: Int = .max) throws -> [ChunkCertificate] {
        let limits = DecodingLimits(rules: configuration.rules)
        // Nothing expires after the last representable time.
        guard time.milliseconds < .max, limit > 0 else { return [] }
        let lower = ChunkKey.bound(expiry: time.milliseconds + 1)
        return try snapshot { r in
            var found: [ChunkCertificate] = []
            try r.scan(r.tables.certificates, in: .from(lower)) { entry in
                let row = try entry.value()
                guard row.status == .pending else { return .next }
                found.append(try row.decode(limits: limits))
                return found.count < limit ? .next : .stop
            }
            return found
        }
    }

    /// The certificate for `reference`'s chunk, if held.
    public func certificate(for reference: ChunkReference) throws -> ChunkCertificate? {
        let limits = DecodingLimits(rules: configuration.rules)
        let key = ChunkKey(expiry: reference.expiry, id: reference.chunkID)
        return try snapshot { r in try r.get(r.tables.certificates, key)?.decode(limits: limits) }
    }
}
