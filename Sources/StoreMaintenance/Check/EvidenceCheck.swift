import ChunkStore
import DSMR

extension StoreChecker {
    /// Checks `evidence`: every row decodes, and so do both chunks in it
    /// (the first may be absent when it was not held); both chunks have the
    /// key's producer and slot and different ids; the signed chunk's bytes
    /// hash to the signed chunk id the row names; and, when the row records
    /// the producer's public key (every row written since schema version 2),
    /// the key hashes to the producer's id and both chunks' signatures verify
    /// under it in the store's network and chain. Rows of schema version 1
    /// carry no key; their signatures are not checked.
    func checkEvidence(_ report: inout CheckReport, _ r: borrowing some StoreTransaction & ~Copyable) throws {
        try visit(r.tables.evidence, &report, r) { entry, report in
            guard let key = key(entry, &report) else { return }
            let evidence: ConflictEvidence
            do {
                evidence = try ConflictEvidence(key: key, row: try entry.value(), limits: limits)
            } catch {
                report.add(.evidenceCorrupt, Schema.evidence, entry.raw.key, "\(error)")
                return
            }
            if let detail = evidenceFlaw(evidence) {
                report.add(.evidenceCorrupt, Schema.evidence, entry.raw.key, detail)
            }
        }
    }

    /// Why decoded evidence proves nothing, or nil when it holds together.
    func evidenceFlaw(_ evidence: ConflictEvidence) -> String? {
        let owner = "producer \(evidence.producer) slot \(evidence.slot)"
        for chunk in [evidence.signedChunk, evidence.conflictingChunk].compactMap({ $0 }) {
            if chunk.producer != evidence.producer || chunk.slot != evidence.slot {
                return "chunk \(chunk.id) is producer \(chunk.producer) slot \(chunk.slot), not \(owner)"
            }
        }
        if evidence.conflictingChunk.id == evidence.signedChunkID {
            return "the conflicting chunk is the signed chunk \(evidence.signedChunkID)"
        }
        if let signed = evidence.signedChunk, signed.id != evidence.signedChunkID {
            return "the signed chunk's bytes hash to \(signed.id), not the signed id \(evidence.signedChunkID)"
        }
        guard let publicKey = evidence.producerKey else { return nil }
        if NodeID(publicKey: publicKey) != evidence.producer {
            return "the recorded public key is not \(owner)'s"
        }
        for chunk in [evidence.signedChunk, evidence.conflictingChunk].compactMap({ $0 })
        where !chunk.verifySignature(publicKey: publicKey, domain: domain) {
            return "chunk \(chunk.id) is not signed by \(owner)'s key"
        }
        return nil
    }
}
