import ChunkStore
import DSMR

extension StoreChecker {
    /// Checks `certificates`: every row's status byte is known and its
    /// certificate decodes; the key's (expiry, id) is the certificate's
    /// reference; a certificate whose chunk is held names that chunk's
    /// producer, slot and expiry; and no pending certificate has expired at
    /// or below the watermark (collection removes those).
    func checkCertificates(
        watermark: Int64, _ report: inout CheckReport, _ r: borrowing some StoreTransaction & ~Copyable
    ) throws {
        try visit(r.tables.certificates, &report, r) { entry, report in
            guard let key = key(entry, &report) else { return }
            let row: CertificateRow
            let certificate: ChunkCertificate
            do {
                row = try entry.value()
                if row.isUnchecked { report.countWithoutChecksum(Schema.certificates) }
                certificate = try row.decode(limits: limits)
            } catch {
                report.add(.certificateCorrupt, Schema.certificates, entry.raw.key, "\(error)")
                return
            }
            if let detail = certificateDisagreement(certificate, key: key, r) {
                report.add(.certificateCorrupt, Schema.certificates, entry.raw.key, detail)
            } else if row.status == .pending && key.expiry <= watermark {
                report.add(
                    .expiredRowKept, Schema.certificates, entry.raw.key,
                    "pending certificate of chunk \(key.id) expired at \(key.expiry), at or below the watermark \(watermark)"
                )
            }
        }
    }

    /// Why a certificate does not belong under `key`, or nil: the key is not
    /// its reference's, or the held chunk has another producer or slot.
    func certificateDisagreement(
        _ certificate: ChunkCertificate, key: ChunkKey, _ r: borrowing some StoreTransaction & ~Copyable
    ) -> String? {
        let reference = certificate.reference
        if reference.chunkID != key.id || expiryBits(reference.expiry) != expiryBits(key.expiry) {
            return "the certificate names chunk \(reference.chunkID) expiring \(reference.expiry)"
        }
        // A damaged chunk record is reported by the scan of `chunks`.
        guard let record = (try? record(key, r)) ?? nil else { return nil }
        if record.producer != reference.producer || record.slot != reference.slot || record.expiry != reference.expiry {
            return
                "the certificate names producer \(reference.producer) slot \(reference.slot); the held chunk \(key.id) is producer \(record.producer) slot \(record.slot)"
        }
        return nil
    }
}
