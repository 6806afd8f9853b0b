import DSMR

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
        _ chunk: Chunk, validators: ValidatorSet, now: ChainTime
    ) async throws -> SignatureShare {
        guard let validator = validators.validator(chunk.producer) else {
            throw ChunkStoreError(
                .notAValidator, "producer \(chunk.producer) is not in the validator set of epoch \(validators.epoch)")
        }
        let signer = try requireSigner()
        let prepared = try preparing {
            var prepared = try prepare(chunk, origin: .signed, now: now)
            prepared.producerKey = validator.publicKey
            guard chunk.verifySignature(publicKey: validator.publicKey, domain: configuration.domain) else {
                throw ChunkStoreError(
                    .badSignature, "chunk \(prepared.id) is not signed by its producer \(chunk.producer)")
            }
            return prepared
        }
        return try await recordAndSign(prepared, signer: signer)
    }

    /// Stores this node's own chunk under the same rules as a remote one (one
    /// chunk per slot, even across restarts; the rate limit) and returns this
    /// node's share for it.
    public func storeOwnChunk(_ chunk: Chunk, now: ChainTime) async throws -> SignatureShare {
        let signer = try requireSigner()
        guard chunk.producer == configuration.nodeID else {
            throw ChunkStoreError(
                .invalidChunk, "chunk producer \(chunk.producer) is not this node \(configuration.nodeID)")
        }
        var prepared = try prepare(chunk, origin: .own, now: now)
        prepared.producerKey = signer.publicKey
        return try await recordAndSign(prepared, signer: signer)
    }

    /// Stores a chunk fetched after a block referencing it was accepted, the
    /// node's answer to a reference in `AcceptanceReport.missingChunks`.
    ///
    /// Checks, before anything is written: `reference` names this chunk (id,
    /// producer, slot), the chunk fits `maxChunkBytes`, its producer is in
    /// `validators` and signed it with that registered key; then, in the
    /// transaction, that an accepted block's certificate for `reference` is
    /// held (`recordAccepted` keeps it as long as the chunk may be). Refusals:
    /// `invalidChunk`, `tooLarge`, `notAValidator`, `badSignature`,
    /// `notAccepted`. No signing rules apply; the chunk is stored as accepted
    /// at the certificate's expiry and kept for `acceptedRetention` after it.
    public func storeAcceptedChunk(
        _ chunk: Chunk, for reference: ChunkReference, validators: ValidatorSet
    ) async throws {
        let id = chunk.id
        guard reference.chunkID == id, reference.producer == chunk.producer, reference.slot == chunk.slot else {
            throw ChunkStoreError(
                .invalidChunk,
                "chunk \(id) (producer \(chunk.producer), slot \(chunk.slot)) is not the chunk the reference names: \(reference.chunkID) (producer \(reference.producer), slot \(reference.slot))"
            )
        }
        let size = chunk.encodedSize
        guard size <= configuration.rules.maxChunkBytes else {
            throw ChunkStoreError(
                .tooLarge,
                "chunk \(id) has \(size) bytes; the limit is \(configuration.rules.maxChunkBytes), so no honest quorum certified it"
            )
        }
        guard let validator = validators.validator(chunk.producer) else {
            throw ChunkStoreError(
                .notAValidator, "producer \(chunk.producer) is not in the validator set of epoch \(validators.epoch)")
        }
        guard chunk.verifySignature(publicKey: validator.publicKey, domain: configuration.domain) else {
            throw ChunkStoreError(.badSignature, "chunk \(id) is not signed by its producer \(chunk.producer)")
        }
        let units = try measure(chunk, size: size)
        let prepared = PreparedChunk(
            chunk: chunk, id: id, size: size, expiry: reference.expiry, units: units, origin: .fetched)
        let node = configuration.nodeID
        try await submit { w in
            let accepted = (try? w.get(w.tables.certificates, ChunkKey(expiry: reference.expiry, id: id)))??.status
            guard accepted == .accepted else {
                throw ChunkStoreError(
                    .notAccepted, "no accepted block's certificate names chunk \(id) expiring at \(reference.expiry)")
            }
            // Held already (signed before its block was accepted): make sure it is accepted.
            if try w.markAccepted(ChunkKey(expiry: prepared.expiry, id: prepared.id)) { return }
            // Not held, or held with a damaged header that this record replaces
            // (with any pending expiry row the damaged one left behind).
            try w.delete(w.tables.byExpiry, ExpiryIndexKey(status: .pending, expiry: prepared.expiry, id: prepared.id))
            try w.putChunk(try w.restoringOrigin(prepared, node: node), status: .accepted)
        }
    }

    private func requireSigner() throws -> any Signer {
        try requireWritable()
        guard let signer = configuration.signer else {
            throw ChunkStoreError(
                .noSigningKey, "the store at \(configuration.path) was opened without a signing key; it cannot sign")
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
    private func prepare(_ chunk: Chunk, origin: ChunkOrigin, now: ChainTime) throws -> PreparedChunk {
        let rules = configuration.rules
        let size = chunk.encodedSize
        guard size <= rules.maxChunkBytes else {
            throw ChunkStoreError(.tooLarge, "chunk \(chunk.id) has \(size) bytes; the limit is \(rules.maxChunkBytes)")
        }
        let current = rules.slot(at: now.milliseconds)
        let (latest, overflow) = current.addingReportingOverflow(rules.maxFutureSlots)
        guard overflow || chunk.slot <= latest else {
            throw ChunkStoreError(
                .tooFarInFuture,
                "chunk \(chunk.id) is for slot \(chunk.slot); the current slot is \(current) and at most \(rules.maxFutureSlots) ahead are accepted"
            )
        }
        return PreparedChunk(
            chunk: chunk, id: chunk.id, size: size, expiry: rules.expiry(ofSlot: chunk.slot),
            units: try measure(chunk, size: size), origin: origin)
    }

    /// Records `prepared` durably and returns this node's share for it, made
    /// only after the signing transaction is durable and decided `stored` or
    /// `alreadySigned`.
    ///
    /// A caller that finds the writer idle commits on its own thread
    /// (`claimIdleWriter()`), and the share is computed meanwhile on another
    /// task, so the Ed25519 signature overlaps the disk's sync instead of
    /// following it. A refused chunk's share is dropped unreturned: nothing
    /// leaves the store before the commit. Under load, when the writer is
    /// busy, the caller queues and signs after its group's commit, as the
    /// other cores are busy anyway.
    private func recordAndSign(_ prepared: PreparedChunk, signer: any Signer) async throws -> SignatureShare {
        let reference = prepared.reference
        let rules = configuration.rules
        let domain = configuration.domain
        if claimIdleWriter() {
            async let share = SignatureShare.sign(reference, rules: rules, signer: signer, domain: domain)
            try decide(commitClaimed { w in try w.sign(prepared, rules: rules) }, for: prepared)
            return try await share
        }
        try decide(try await submit { w in try w.sign(prepared, rules: rules) }, for: prepared)
        return try SignatureShare.sign(reference, rules: rules, signer: signer, domain: domain)
    }

    /// Turns the signing transaction's decision for `prepared` into a
    /// result: nothing when it may be signed, else the refusal.
    private func decide(_ decision: SigningDecision, for prepared: PreparedChunk) throws {
        let chunk = prepared.chunk
        switch decision {
        case .stored, .alreadySigned:
            return
        case .conflict(let signed):
            throw ChunkStoreError(
                .conflictingChunk,
                "producer \(chunk.producer) already had chunk \(signed) signed for slot \(chunk.slot); \(prepared.id) conflicts and both are kept as evidence"
            )
        case .rateLimited(let window, let usage, let limit):
            throw ChunkStoreError(
                .rateLimited,
                "producer \(chunk.producer) used \(usage) in window \(window); adding \(prepared.units) would pass the limit \(limit)"
            )
        case .expired(let watermark):
            throw ChunkStoreError(
                .expired, "chunk \(prepared.id) expires at \(prepared.expiry), not after the watermark \(watermark)")
        case .belowFloor(let floor):
            throw ChunkStoreError(
                .expired,
                "chunk \(prepared.id) is for slot \(chunk.slot), below the signing floor \(floor): the signing records of those slots were pruned, so they can never be signed again"
            )
        }
    }
}

extension ChunkStore {
    /// Closes every slot below `slot` to signing, durably; never lowers the
    /// floor. A validator that lost its store raises it past every slot it
    /// may have signed before the loss.
    public func raiseSigningFloor(to slot: UInt64) async throws {
        try await submit { w in try w.raiseSigningFloor(to: slot) }
    }

    /// The first slot this store may sign a chunk of (0 when no floor was set).
    public func signingFloor() throws -> UInt64 { try snapshot { r in try r.signingFloor() } }
}

extension ChunkStore {
    /// The highest slot of any chunk this store signed, or nil when it signed none.
    public func highestSignedSlot() throws -> UInt64? {
        try snapshot { r in
            var highest: UInt64?
            try r.scan(r.tables.signed) { entry in
                let slot = try entry.key().number
                highest = max(highest ?? 0, slot)
                return .next
            }
            return highest
        }
    }
}
