import DSMR

extension StoreWriter {
    /// The signing transaction's body: every check against stored state,
    /// then, only if all pass, every write. It throws only storage failures.
    func sign(_ prepared: PreparedChunk, rules: Rules) throws -> SigningDecision {
        let chunk = prepared.chunk
        let watermark = try watermark()
        if prepared.expiry <= watermark { return .expired(watermark: watermark) }
        let floor = try signingFloor()
        if chunk.slot < floor { return .belowFloor(floor: floor) }

        var alreadyCharged = false
        var signedButNotHeld = false
        if let signed = try signedRecord(producer: chunk.producer, slot: chunk.slot) {
            if signed.chunkID == prepared.id {
                if !signed.notHeld { return .alreadySigned }
                signedButNotHeld = true
                // Signed before but not held: imported (charge it now) or
                // lost in recovery (its units are still in the ledger).
                alreadyCharged = signed.charged
            } else {
                try storeEvidence(first: signed, second: prepared, limits: DecodingLimits(rules: rules))
                return .conflict(signed: signed.chunkID)
            }
        }

        if !alreadyCharged {
            let window = rules.window(ofSlot: chunk.slot)
            let usage = try ledgerUsage(producer: chunk.producer, window: window)
            guard usage.canAdd(prepared.units, limit: rules.maxUnitsPerWindow) else {
                return .rateLimited(window: window, usage: usage, limit: rules.maxUnitsPerWindow)
            }
            try put(tables.ledger, ProducerKey(chunk.producer, window), try usage.adding(prepared.units))
        }

        let status: ChunkStatus = try isKnownAccepted(prepared) ? .accepted : .pending
        try putChunk(prepared, status: status)
        try put(
            tables.signed, ProducerKey(chunk.producer, chunk.slot),
            SignedRecord.held(prepared.id, expiry: prepared.expiry))
        if signedButNotHeld { try completeEvidence(with: prepared) }
        return .stored
    }

    /// Fills in the chunk signed first where evidence lacked it (the slot's
    /// record was imported, the conflicting chunk came before this one): the
    /// pair now proves the fault on its own.
    func completeEvidence(with prepared: PreparedChunk) throws {
        let key = ProducerKey(prepared.chunk.producer, prepared.chunk.slot)
        guard var row = (try? get(tables.evidence, key)) ?? nil, row.signedChunk.isEmpty,
            row.signedChunkID == prepared.id
        else { return }
        row.signedChunk = prepared.bytes
        try put(tables.evidence, key, row)
    }

    /// Whether a chunk about to be signed is already known to be accepted:
    /// held as accepted (fetched after its block), or named by the
    /// certificate of an accepted block while it was missing. Such a chunk
    /// stays accepted, so it is kept for the accepted retention.
    func isKnownAccepted(_ prepared: PreparedChunk) throws -> Bool {
        let key = ChunkKey(expiry: prepared.expiry, id: prepared.id)
        if let held = try summary(key) { return held.status == .accepted }
        // A certificate row that does not decode proves nothing: not accepted.
        return (try? get(tables.certificates, key))??.status == .accepted
    }

    /// Keeps the first proof for a (producer, slot); later conflicts add
    /// nothing a slashing needs. An entry that proves nothing on its own (the
    /// chunk signed first was not held, as after a signing-history import) is
    /// replaced by a later pair that does.
    func storeEvidence(first: SignedRecord, second: PreparedChunk, limits: DecodingLimits) throws {
        let chunk = second.chunk
        let key = ProducerKey(chunk.producer, chunk.slot)
        // Both chunks were checked when stored; holding both is the proof. A
        // row that does not decode proves nothing either.
        let stored = try contains(tables.evidence, key)
        if stored, (try? get(tables.evidence, key))??.signedChunk.isEmpty == false { return }
        let signedChunk =
            try withRawValue(tables.chunks, first.chunkKey) { value -> Chunk? in
                guard let (_, body) = try? ChunkRecord.parse(value) else { return nil }
                return try? Chunk(decoding: Array(body), limits: limits)
            } ?? nil
        if stored && signedChunk == nil { return }
        let evidence = ConflictEvidence(
            producer: chunk.producer, slot: chunk.slot, signedChunkID: first.chunkID, signedChunk: signedChunk,
            conflictingChunk: chunk, producerKey: second.producerKey)
        try put(tables.evidence, key, evidence.row)
    }
}
