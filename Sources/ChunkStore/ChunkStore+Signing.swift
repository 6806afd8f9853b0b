import DSMR
import LMDB

extension ChunkStore {
    /// Persists a remote producer's chunk and signs it, the chunk server's
    /// answer to `requestChunkSignatureShare`.
    ///
    /// Checks, before anything is written: the producer is in `validators`,
    /// the chunk fits `maxChunkBytes`, the producer's signature verifies, the
    /// slot is at most `maxFutureSlots` ahead of `now` and its expiry is above
    /// the watermark. Then one durable transaction records the chunk, its
    /// index rows, the producer's rate-limit usage and the `signed` row. Only
    /// after that commit is the share made.
    ///
    /// Asking again for the same chunk returns the same share. A different
    /// chunk for a (producer, slot) already signed is refused with
    /// `conflictingChunk`, and both chunks are kept in `evidence`. A chunk
    /// that would take its producer past `maxUnitsPerWindow` in its window is
    /// refused with `rateLimited`, naming the usage and the limit.
    public func persistAndSign(
        _ chunk: Chunk, validators: ValidatorSet, now: Int64
    ) async throws -> SignatureShare {
        guard let validator = validators.validator(chunk.producer) else {
            throw ChunkStoreError(
                .notAValidator, "producer \(chunk.producer) is not in the validator set of epoch \(validators.epoch)")
        }
        let signer = try requireSigner()
        let prepared = try prepare(chunk, origin: .signed, now: now)
        guard chunk.verifySignature(publicKey: validator.publicKey, domain: configuration.domain) else {
            throw ChunkStoreError(.badSignature, "chunk \(prepared.id) is not signed by its producer \(chunk.producer)")
        }
        try await record(prepared)
        return try SignatureShare.sign(
            prepared.reference, rules: configuration.rules, signer: signer, domain: configuration.domain)
    }

    /// Stores this node's own chunk under the same rules as a remote one (one
    /// chunk per slot, even across restarts; the rate limit) and returns this
    /// node's share for it.
    public func storeOwnChunk(_ chunk: Chunk, now: Int64) async throws -> SignatureShare {
        let signer = try requireSigner()
        guard chunk.producer == configuration.nodeID else {
            throw ChunkStoreError(
                .invalidChunk, "chunk producer \(chunk.producer) is not this node \(configuration.nodeID)")
        }
        let prepared = try prepare(chunk, origin: .own, now: now)
        try await record(prepared)
        return try SignatureShare.sign(
            prepared.reference, rules: configuration.rules, signer: signer, domain: configuration.domain)
    }

    /// Stores a chunk fetched after a block referencing it was accepted. No
    /// signing rules apply but the size limit (the certificate vouches for
    /// it); it is stored as accepted and kept for `acceptedRetention` after it
    /// expires.
    public func storeAcceptedChunk(_ chunk: Chunk) async throws {
        let bytes = chunk.encoded()
        guard bytes.count <= configuration.rules.maxChunkBytes else {
            throw ChunkStoreError(
                .tooLarge,
                "chunk \(chunk.id) has \(bytes.count) bytes; the limit is \(configuration.rules.maxChunkBytes), so no honest quorum certified it")
        }
        let expiry = configuration.rules.expiry(ofSlot: chunk.slot)
        let units = try measure(chunk, size: bytes.count)
        let prepared = PreparedChunk(
            chunk: chunk, id: chunk.id, bytes: bytes, expiry: expiry, units: units, origin: .fetched)
        let tables = self.tables
        try await submit { txn in
            // Held already (signed before its block was accepted): make sure it is accepted.
            if try Self.markAccepted(prepared.id, expiry: prepared.expiry, tables, txn) { return }
            try Self.writeChunk(prepared, status: .accepted, tables, txn)
        }
    }

    private func requireSigner() throws -> any Signer {
        guard let signer = configuration.signer else {
            throw ChunkStoreError(.readOnly, "the store was opened without a signing key")
        }
        return signer
    }

    private func measure(_ chunk: Chunk, size: Int) throws -> Dimensions {
        do {
            return try configuration.measure(chunk, size)
        } catch {
            throw ChunkStoreError(.invalidChunk, "chunk \(chunk.id): cannot measure its units: \(error)")
        }
    }

    /// The checks that need no storage, done on the caller's thread.
    private func prepare(_ chunk: Chunk, origin: ChunkOrigin, now: Int64) throws -> PreparedChunk {
        let rules = configuration.rules
        let bytes = chunk.encoded()
        guard bytes.count <= rules.maxChunkBytes else {
            throw ChunkStoreError(
                .tooLarge, "chunk \(chunk.id) has \(bytes.count) bytes; the limit is \(rules.maxChunkBytes)")
        }
        let current = rules.slot(at: now)
        let (latest, overflow) = current.addingReportingOverflow(rules.maxFutureSlots)
        guard overflow || chunk.slot <= latest else {
            throw ChunkStoreError(
                .tooFarInFuture,
                "chunk \(chunk.id) is for slot \(chunk.slot); the current slot is \(current) and at most \(rules.maxFutureSlots) ahead are accepted")
        }
        return PreparedChunk(
            chunk: chunk, id: chunk.id, bytes: bytes, expiry: rules.expiry(ofSlot: chunk.slot),
            units: try measure(chunk, size: bytes.count), origin: origin)
    }

    /// Runs the signing transaction for `prepared` and turns its decision
    /// into a result.
    private func record(_ prepared: PreparedChunk) async throws {
        let tables = self.tables
        let meta = self.meta
        let rules = configuration.rules
        let decision = try await submit { txn in
            try Self.decide(prepared, rules: rules, tables: tables, meta: meta, txn)
        }
        let chunk = prepared.chunk
        switch decision {
        case .stored, .alreadySigned:
            return
        case .conflict(let signed):
            throw ChunkStoreError(
                .conflictingChunk,
                "producer \(chunk.producer) already had chunk \(signed) signed for slot \(chunk.slot); \(prepared.id) conflicts and both are kept as evidence")
        case .rateLimited(let window, let usage, let limit):
            throw ChunkStoreError(
                .rateLimited,
                "producer \(chunk.producer) used \(usage) in window \(window); adding \(prepared.units) would pass the limit \(limit)")
        case .expired(let watermark):
            throw ChunkStoreError(
                .expired, "chunk \(prepared.id) expires at \(prepared.expiry), not after the watermark \(watermark)")
        }
    }

    /// The signing transaction's body: every check against stored state,
    /// then, only if all pass, every write. It throws only LMDB failures.
    static func decide(
        _ prepared: PreparedChunk, rules: Rules, tables: Tables, meta: MetaAccess,
        _ txn: borrowing WriteTransaction
    ) throws -> SigningDecision {
        let chunk = prepared.chunk
        let watermark = try meta.watermark(txn)
        if prepared.expiry <= watermark { return .expired(watermark: watermark) }

        let signedKey = Keys.perProducer(chunk.producer, chunk.slot)
        var alreadyCharged = false
        if let signed = try txn.withValue(forKey: signedKey, in: tables.signed, { try SignedRecord($0) }) {
            if signed.chunkID == prepared.id {
                if !signed.notHeld { return .alreadySigned }
                // Signed before but not held: imported (charge it now) or
                // lost in recovery (its units are still in the ledger).
                alreadyCharged = signed.charged
            } else {
                try storeEvidence(
                    first: signed, second: prepared, tables: tables, limits: DecodingLimits(rules: rules), txn)
                return .conflict(signed: signed.chunkID)
            }
        }

        if !alreadyCharged {
            let window = rules.window(ofSlot: chunk.slot)
            let ledgerKey = Keys.perProducer(chunk.producer, window)
            let usage =
                try txn.withValue(forKey: ledgerKey, in: tables.ledger) { try Dimensions(fixedBytes: $0) } ?? .zero
            guard usage.canAdd(prepared.units, limit: rules.maxUnitsPerWindow) else {
                return .rateLimited(window: window, usage: usage, limit: rules.maxUnitsPerWindow)
            }
            try txn.put(try usage.adding(prepared.units).fixedBytes, forKey: ledgerKey, in: tables.ledger)
        }

        let status: ChunkStatus = try isKnownAccepted(prepared, tables, txn) ? .accepted : .pending
        try writeChunk(prepared, status: status, tables, txn)
        try txn.put(SignedRecord.held(prepared.id, expiry: prepared.expiry).bytes, forKey: signedKey, in: tables.signed)
        return .stored
    }

    /// Whether a chunk about to be signed is already known to be accepted:
    /// held as accepted (fetched after its block), or named by the
    /// certificate of an accepted block while it was missing. Such a chunk
    /// stays accepted, so it is kept for the accepted retention.
    static func isKnownAccepted(
        _ prepared: PreparedChunk, _ tables: Tables, _ txn: borrowing WriteTransaction
    ) throws -> Bool {
        if let held = try summary(prepared.id, expiry: prepared.expiry, tables, txn) { return held.status == .accepted }
        let certificate = Keys.certificate(prepared.expiry, prepared.id)
        return try txn.withValue(forKey: certificate, in: tables.certificates) {
            $0.first == ChunkStatus.accepted.rawValue
        } ?? false
    }

    /// Writes a chunk's record and its index rows.
    static func writeChunk(
        _ prepared: PreparedChunk, status: ChunkStatus, _ tables: Tables, _ txn: borrowing WriteTransaction
    ) throws {
        let chunk = prepared.chunk
        let record = ChunkRecord(
            status: status, origin: prepared.origin, producer: chunk.producer, slot: chunk.slot,
            expiry: prepared.expiry, units: prepared.units)
        let size = ChunkRecord.headerSize + prepared.bytes.count
        try txn.put(reserving: size, forKey: Keys.chunk(prepared.expiry, prepared.id), in: tables.chunks) { buffer in
            record.writeHeader(into: buffer)
            prepared.bytes.withUnsafeBytes {
                UnsafeMutableRawBufferPointer(rebasing: buffer[ChunkRecord.headerSize...]).copyMemory(from: $0)
            }
        }
        try txn.put(
            Keys.expiryValue(prepared.expiry), forKey: Keys.slotProducer(chunk.slot, chunk.producer, prepared.id),
            in: tables.bySlotProducer)
        try txn.put([UInt8](), forKey: Keys.expiry(status, prepared.expiry, prepared.id), in: tables.byExpiry)
    }
}
