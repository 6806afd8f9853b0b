import ChunkStore
import DSMR

extension ChunkStore {
    /// Writes the whole store, as one snapshot, to a new file at `path`;
    /// `progress`, if given, hears how far each table has come.
    ///
    /// The file holds the signing ledger, so it gets mode 0600. It is
    /// written to a new temporary file beside `path` (`O_EXCL|O_NOFOLLOW`,
    /// so no symbolic link or stale file is ever opened), synced, and only
    /// then put at `path`; an existing `path` is replaced only when
    /// `replacing` is true (a symbolic link there is replaced itself, its
    /// target never written). `path` must lie outside every store's
    /// directory, by its real path.
    ///
    /// - Throws: `ChunkStoreError/Code/alreadyExists`,
    ///   `ChunkStoreError/Code/outputInsideStore` or
    ///   `ChunkStoreError/Code/io`.
    @discardableResult
    public func dump(
        to path: String, replacing: Bool = false, progress: ProgressHandler? = nil
    ) throws -> StoreDump.Summary {
        try snapshot { r in try StoreDump.write(r, to: path, replacing: replacing, progress: progress) }
    }

    /// Makes a new store in `directory` from the dump at `path`; `progress`,
    /// if given, hears how many bytes of the file are loaded.
    ///
    /// The file is opened once and read once: each row is checked (a known
    /// table, a key of 1 to 511 bytes, a value no longer than the rest of
    /// the file nor than the largest its table can legally hold, chunks
    /// bounded by the dump's own `maxChunkBytes`, rows in strictly
    /// increasing key order per table, so none is written twice), hashed and written into the new store, which carries a
    /// marker that makes opening it refuse while the load runs. Only when the
    /// end marker, the checksum over everything read and the file's end all
    /// check out is the marker cleared and the store synced; on any failure
    /// the new store's files are removed (and its directory, if the load
    /// made it). `directory` is placed as ``compact(to:)`` places a copy:
    /// outside every store's directory, holding no store, mode 0700 when new.
    ///
    /// - Throws: `ChunkStoreError/Code/badInterchange` naming what is wrong
    ///   in the file and at which byte, or an error of the placement.
    @discardableResult
    public static func load(
        dump path: String, into directory: String, progress: ProgressHandler? = nil
    ) throws -> StoreDump.Summary {
        try load(dump: path, into: directory, progress: progress, afterOpening: {})
    }

    /// ``load(dump:into:progress:)``, calling `afterOpening` once the file
    /// is open (tests swap the file there).
    static func load(
        dump path: String, into directory: String, progress: ProgressHandler?, afterOpening: () throws -> Void
    ) throws -> StoreDump.Summary {
        try SealedErrors.sealed(directory, .writing) {
            try StoreDump.load(path, into: directory, progress: progress, afterOpening: afterOpening)
        }
    }

    /// The node's signing history: every `signed` row and the watermark.
    public func exportSigningHistory() throws -> SigningHistory {
        try snapshot { r in
            var byProducer: [NodeID: [SigningHistory.SignedChunk]] = [:]
            try r.scan(r.tables.signed) { entry in
                let key = try entry.key()
                let record = try entry.value()
                byProducer[key.producer, default: []].append(
                    SigningHistory.SignedChunk(slot: key.number, chunkID: record.chunkID))
                return .next
            }
            let metadata = SigningHistory.Metadata(
                networkID: configuration.networkID, chainID: configuration.chainID, nodeID: configuration.nodeID,
                lowWatermark: try r.watermark(), lowSlot: try r.signingFloor())
            return SigningHistory(
                metadata: metadata,
                data: byProducer.sorted { $0.key < $1.key }.map {
                    SigningHistory.ProducerHistory(producer: $0.key, signedChunks: $0.value)
                })
        }
    }

    /// Writes the signing history to a new file at `path`, mode 0600, as
    /// ``dump(to:replacing:progress:)`` writes a dump: never inside a store's
    /// directory, never through a symbolic link, and over an existing file
    /// only when `replacing` is true.
    ///
    /// - Throws: `ChunkStoreError/Code/alreadyExists`,
    ///   `ChunkStoreError/Code/outputInsideStore` or
    ///   `ChunkStoreError/Code/io`.
    public func exportSigningHistory(to path: String, replacing: Bool = false) throws {
        let file = try OutputFile(path: path, replacing: replacing)
        try file.write(try exportSigningHistory().json())
        try file.finish()
    }

    /// Merges a signing history into this store without ever weakening
    /// protection: slots not yet recorded are added, recorded ones are kept
    /// as they are, and the watermark becomes the higher of the two (raising
    /// it collects what it expires, as accepting a block does). A history of
    /// another network, chain or node is refused.
    ///
    /// A history whose watermark or floor lies beyond the
    /// `ChainTimeBounds` of this store (measured from the later of
    /// its watermark and `now`) is refused unless `force` is true: importing
    /// `Int64.max` would collect every row.
    ///
    /// - Parameters:
    ///   - history: the history to merge.
    ///   - now: the node's clock as chain time; nil reads the wall clock.
    ///   - force: imports a watermark or floor beyond the bounds.
    /// - Throws: `ChunkStoreError/Code/badInterchange` for a history of
    ///   another network, chain or node; `ChunkStoreError/Code/implausible`
    ///   naming the field and value beyond the bounds.
    public func importSigningHistory(
        _ history: SigningHistory, now: ChainTime? = nil, force: Bool = false
    ) async throws -> SigningHistoryImport {
        let metadata = history.metadata
        guard metadata.networkID == configuration.networkID, metadata.chainID == configuration.chainID,
            metadata.nodeID == configuration.nodeID
        else {
            throw ChunkStoreError(
                .badInterchange,
                "the history belongs to network \(metadata.networkID) chain \(metadata.chainID) node \(metadata.nodeID), not this store's"
            )
        }
        let rows = history.rows()
        let lowSlot = history.metadata.lowSlot
        let rules = configuration.rules
        let collector = garbageCollector
        let clock = now ?? Platform.wallClock()
        return try await submit { w in
            var result = SigningHistoryImport()
            let previous = try w.watermark()
            if !force {
                try ChainTimeBounds(reference: max(.milliseconds(previous), clock), rules: rules).check(metadata)
            }
            let watermark = max(previous, metadata.lowWatermark)
            if watermark > previous {
                // Every move of the watermark collects what it expires.
                try w.setWatermark(watermark)
                _ = try collector.collect(from: previous, upTo: watermark, w)
            }
            try w.raiseSigningFloor(to: lowSlot)
            result.watermark = watermark
            for row in rows {
                guard rules.expiry(ofSlot: row.slot) > watermark, row.slot >= lowSlot else {
                    result.obsolete += 1
                    continue
                }
                let key = ProducerKey(row.producer, row.slot)
                if let existing = try w.get(w.tables.signed, key) {
                    if existing.chunkID == row.chunkID { result.alreadyPresent += 1 } else { result.keptExisting += 1 }
                    continue
                }
                try w.put(
                    w.tables.signed, key, SignedRecord.imported(row.chunkID, expiry: rules.expiry(ofSlot: row.slot)))
                result.added += 1
            }
            return result
        }
    }
}
