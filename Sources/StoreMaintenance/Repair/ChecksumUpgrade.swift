import ChunkStore
import DSMR
import LMDB

/// Rows of `certificates` and `blocks` in the form written before rows
/// carried checksums: they still read, unchecked, so damage to them goes
/// unseen until they are written again. `compact` and salvage rewrite them
/// in the checksummed form (`check` counts them as it decodes them).
enum ChecksumUpgrade {
    /// Rows rewritten, per table.
    struct Count: Sendable, Hashable {
        var certificates = 0
        var blocks = 0
        var total: Int { certificates + blocks }
    }

    /// Rows rewritten per write, so memory stays bounded by one batch.
    static let batchSize = 1_024

    /// The checksummed form of a `certificates` value, or nil when it has a
    /// checksum already or does not decode (check reports it).
    static func upgradedCertificate(_ value: UnsafeRawBufferPointer) -> [UInt8]? {
        guard let row = try? CertificateRow(decoding: value), row.isUnchecked else { return nil }
        return row.encoded
    }

    /// The checksummed form of the `blocks` value at `height`, or nil when
    /// it has a checksum already or does not decode.
    static func upgradedBlock(_ value: [UInt8], height: UInt64, limits: DecodingLimits) -> [UInt8]? {
        guard let row = try? BlockRow(value, height: height, limits: limits), row.isUnchecked else { return nil }
        let block = value.dropLast(row.stateRoot == nil ? 0 : StateRoot.byteCount)
        return BlockRow.encode(block: Array(block), stateRoot: row.stateRoot).bytes
    }

    /// Rewrites, in `w`, every row of `certificates` and `blocks` without a
    /// checksum in the checksummed form (same key, same contents). Rows that
    /// do not decode are left as they are.
    static func rewrite(_ w: borrowing StoreWriter, limits: DecodingLimits) throws -> Count {
        var count = Count()
        count.certificates = try rewrite(w.tables.certificates.database, w) { _, value in
            upgradedCertificate(value)
        }
        count.blocks = try rewrite(w.tables.blocks.database, w) { key, value in
            guard let height = try? HeightKey(decoding: key).height else { return nil }
            return upgradedBlock(Array(value), height: height, limits: limits)
        }
        return count
    }

    /// Rewrites the rows of `database` that `upgraded` gives a new value for,
    /// a batch at a time; returns how many.
    private static func rewrite(
        _ database: Database, _ w: borrowing StoreWriter,
        _ upgraded: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> [UInt8]?
    ) throws -> Int {
        var rewritten = 0
        var after: [UInt8]?
        while true {
            var batch: [(key: [UInt8], value: [UInt8])] = []
            var last: [UInt8]?
            try w.scan(database, in: after.map { KeyRange(lower: $0 + [0]) } ?? .all) { entry in
                last = Array(entry.key)
                if let value = upgraded(entry.key, entry.value) { batch.append((Array(entry.key), value)) }
                return batch.count == batchSize ? .stop : .next
            }
            for row in batch { try w.putRaw(database, key: row.key, value: row.value) }
            rewritten += batch.count
            guard batch.count == batchSize, let last else { return rewritten }
            after = last
        }
    }
}

extension ChunkStore {
    /// Rewrites, in one synced transaction, every `certificates` and
    /// `blocks` row of the store at `path` that lacks a checksum; the caller
    /// holds the store's writer lock or made the store itself.
    static func addChecksums(at path: String, limits: DecodingLimits) throws -> ChecksumUpgrade.Count {
        let environment = try SealedErrors.sealed(path, .opening) { try StoreEnvironment.open(path, readOnly: false) }
        defer { environment.close() }
        let tables = try SealedErrors.sealed(path, .opening) { try Tables(environment) }
        return try SealedErrors.sealed(path, .writing) {
            try environment.write { txn in
                try StoreWriter.with(txn, tables: tables) { w in try ChecksumUpgrade.rewrite(w, limits: limits) }
            }
        }
    }
}
