import ChunkStore
import DSMR

extension Node {
    /// Builds a block on `parent` at `timestamp` from the held certificates,
    /// in expiry order; with none to carry, a block without certificates
    /// when `timestamp` lies at least `slotDuration` after the parent's.
    ///
    /// Takes only certificates ``verify(block:parent:)`` lets through:
    /// skips those whose chunk expired before `timestamp` (an expiry equal to
    /// it is still valid), ones an ancestor within the validity window
    /// already includes, ones of neither the block's epoch nor the one
    /// before, ones out of the bounds a chunk server signs within (expiry
    /// that of the slot and at most `validityWindow` after the parent's
    /// timestamp, slot at most `maxFutureSlots` after the block's), and ones
    /// that do not verify; stops at `maxCertificatesPerBlock` or
    /// `maxBlockBytes`. Passes the rest through `verifier` (an error drops
    /// the certificate, `false` stops).
    ///
    /// A block without certificates carries no data: it only moves chain
    /// time, so that a chain whose producers all failed to certify a slot
    /// gets the next one (see ``buildChunk()``). It is made only when no
    /// certificate can go in, so it never displaces one.
    ///
    /// - Throws: ``NodeError/Code/timestampNotAfterParent``,
    ///   ``NodeError/Code/unknownParent``, or
    ///   ``NodeError/Code/noAvailableCertificates`` when none is left and
    ///   `timestamp` is less than a slot after the parent's.
    public func buildBlock(
        parent: Block, timestamp: Int64, verifier: some BuildChunkVerifier = AcceptEveryChunk()
    ) throws -> Block {
        let rules = self.rules
        guard timestamp > parent.timestamp else {
            throw NodeError(
                .timestampNotAfterParent, "timestamp \(timestamp) is not after the parent's \(parent.timestamp)")
        }
        guard parent.height < .max else {
            throw NodeError(.unknownParent, "the parent is at height \(UInt64.max): no block can follow it")
        }
        let included = try includedCertificates(from: parent, since: windowStart(before: timestamp))
        let limits = DecodingLimits(rules: rules)
        var chosen: [ChunkCertificate] = []
        var chosenIDs: Set<ChunkID> = []
        var bytes = Self.emptyBlockBytes
        // `timestamp` is after the parent's, so `timestamp - 1` cannot overflow.
        for certificate in try store.certificates(validAt: .milliseconds(timestamp - 1)) {
            if chosen.count >= limits.maxCertificatesPerBlock { break }
            let id = certificate.reference.chunkID
            let size = certificate.encodedBodyBytes
            guard !included.contains(id), !chosenIDs.contains(id), bytes <= limits.maxBlockBytes - size,
                (try? checkCertificate(certificate, at: nil, timestamp: timestamp, parent: parent)) != nil
            else { continue }
            do {
                guard try verifier.verifyChunk(certificate, timestamp: timestamp) else { break }
            } catch {
                continue
            }
            chosen.append(certificate)
            chosenIDs.insert(id)
            bytes += size
        }
        guard !chosen.isEmpty || Self.mayBeEmpty(timestamp: timestamp, parent: parent, rules: rules) else {
            throw NodeError(
                .noAvailableCertificates,
                "no certificate can go into a block at \(timestamp), and a block without certificates must lie "
                    + "at least \(rules.slotDuration) ms after its parent's \(parent.timestamp)")
        }
        return Block(parent: parent.id, height: parent.height + 1, timestamp: timestamp, certificates: chosen)
    }

    /// Checks `block` against `parent` without needing any chunk, in this
    /// order: parent id, height, timestamp after the parent's and at most
    /// `maxBlockSkew` after it; a block without certificates must lie at
    /// least `slotDuration` after its parent (and needs no more checks); at
    /// most `maxCertificatesPerBlock` certificates and `maxBlockBytes`
    /// encoded; no certificate repeated in the block or in an ancestor
    /// within the validity window; then each certificate: not expired at the
    /// block's timestamp, of its slot's epoch, which is the block's or the
    /// one before, within the bounds a chunk server checks before it signs
    /// (expiry its slot's, at most `validityWindow` after the parent's
    /// timestamp, the slot at most `maxFutureSlots` after the block's, the
    /// producer a validator of the epoch), and verified for its epoch. A
    /// block that passes is kept until accepted or rejected (at most
    /// ``NodeOptions/maxProcessingBlocks``).
    ///
    /// Every value of the block is the proposer's choice: no value makes
    /// this trap, and no certificate's epoch reaches the validator-set
    /// provider before it is known to be the block's or the one before.
    ///
    /// - Throws: ``BlockVerificationError`` with the first check that failed;
    ///   ``NodeError/Code/unknownParent`` when an ancestor cannot be found.
    public func verify(block: Block, parent: Block) throws {
        let rules = self.rules
        guard block.parent == parent.id else {
            throw BlockVerificationError(.wrongParent, "parent is \(block.parent), not \(parent.id)")
        }
        guard parent.height < .max, block.height == parent.height + 1 else {
            throw BlockVerificationError(.wrongHeight, "height \(block.height) after parent height \(parent.height)")
        }
        guard block.timestamp > parent.timestamp else {
            throw BlockVerificationError(
                .timestampNotAfterParent, "timestamp \(block.timestamp) is not after the parent's \(parent.timestamp)")
        }
        let (latest, overflow) = parent.timestamp.addingReportingOverflow(rules.maxBlockSkew)
        guard overflow || block.timestamp <= latest else {
            throw BlockVerificationError(
                .timestampTooFarAhead,
                "timestamp \(block.timestamp) is more than \(rules.maxBlockSkew) ms after the parent's "
                    + "\(parent.timestamp)"
            )
        }
        guard !block.certificates.isEmpty else {
            guard Self.mayBeEmpty(timestamp: block.timestamp, parent: parent, rules: rules) else {
                throw BlockVerificationError(
                    .emptyBlockTooSoon,
                    "the block has no certificate and its timestamp \(block.timestamp) is less than "
                        + "\(rules.slotDuration) ms after the parent's \(parent.timestamp)")
            }
            keepVerified(block)
            return
        }
        let limits = DecodingLimits(rules: rules)
        guard block.certificates.count <= limits.maxCertificatesPerBlock else {
            throw BlockVerificationError(
                .tooLarge,
                "\(block.certificates.count) certificates; at most \(limits.maxCertificatesPerBlock) go in a block")
        }
        let bytes = block.certificates.reduce(Self.emptyBlockBytes) { $0 + $1.encodedBodyBytes }
        guard bytes <= limits.maxBlockBytes else {
            throw BlockVerificationError(
                .tooLarge, "the block has \(bytes) bytes encoded; at most \(limits.maxBlockBytes) are allowed")
        }
        let included = try includedCertificates(from: parent, since: windowStart(before: block.timestamp))
        var seen: Set<ChunkID> = []
        for (index, certificate) in block.certificates.enumerated() {
            let id = certificate.reference.chunkID
            guard seen.insert(id).inserted, !included.contains(id) else {
                throw BlockVerificationError(
                    .repeatedCertificate, certificate: index,
                    "certificate of chunk \(id) is already in this block or an ancestor within the validity window")
            }
        }
        for (index, certificate) in block.certificates.enumerated() {
            try checkCertificate(certificate, at: index, timestamp: block.timestamp, parent: parent)
        }
        keepVerified(block)
    }

    /// Whether a block without certificates may lie at `timestamp` on
    /// `parent`: at least `slotDuration` after it.
    static func mayBeEmpty(timestamp: Int64, parent: Block, rules: Rules) -> Bool {
        let (earliest, overflow) = parent.timestamp.addingReportingOverflow(rules.slotDuration)
        return !overflow && timestamp >= earliest
    }

    /// The bytes of an encoded block without certificates: version, parent,
    /// height, timestamp and count.
    static let emptyBlockBytes = 1 + BlockID.byteCount + 8 + 8 + 4

    /// The earliest timestamp of an ancestor whose certificates a block at
    /// `timestamp` must not repeat (saturating at `Int64.min`).
    func windowStart(before timestamp: Int64) -> Int64 {
        let (start, overflow) = timestamp.subtractingReportingOverflow(rules.validityWindow)
        return overflow ? .min : start
    }

    /// Checks one certificate of a block at `timestamp` on `parent`: every
    /// bound first (none needs the validator set), then the producer and
    /// the certificate against its epoch's set. `index` names the
    /// certificate's place in the block in the error.
    ///
    /// - Throws: ``BlockVerificationError``.
    func checkCertificate(_ certificate: ChunkCertificate, at index: Int?, timestamp: Int64, parent: Block) throws {
        let rules = self.rules
        let reference = certificate.reference
        func fail(_ code: BlockVerificationError.Code, _ message: String) -> BlockVerificationError {
            BlockVerificationError(code, certificate: index, message)
        }
        guard reference.expiry >= timestamp else {
            throw fail(
                .expiredCertificate,
                "chunk \(reference.chunkID) expired at \(reference.expiry), before the block's \(timestamp)")
        }
        let epoch = rules.epoch(at: timestamp)
        let slotEpoch = rules.epoch(ofSlot: reference.slot)
        guard certificate.epoch == slotEpoch else {
            throw fail(
                .wrongEpoch,
                "certificate says epoch \(certificate.epoch) but its chunk's slot \(reference.slot) is in epoch "
                    + "\(slotEpoch)")
        }
        // Written so that no epoch, however large, overflows.
        guard certificate.epoch == epoch || (epoch > 0 && certificate.epoch == epoch - 1) else {
            throw fail(.wrongEpoch, "certificate of epoch \(certificate.epoch) in a block of epoch \(epoch)")
        }
        let slotExpiry = rules.expiry(ofSlot: reference.slot)
        guard reference.expiry == slotExpiry else {
            throw fail(
                .expiryNotOfSlot,
                "chunk \(reference.chunkID) of slot \(reference.slot) says it expires at \(reference.expiry), "
                    + "not at \(slotExpiry)")
        }
        let (windowEnd, windowOverflow) = parent.timestamp.addingReportingOverflow(rules.validityWindow)
        guard windowOverflow || reference.expiry <= windowEnd else {
            throw fail(
                .expiryBeyondWindow,
                "chunk \(reference.chunkID) expires at \(reference.expiry), after the parent's timestamp "
                    + "\(parent.timestamp) + validity window \(rules.validityWindow)")
        }
        let (latestSlot, slotOverflow) = rules.slot(at: timestamp).addingReportingOverflow(rules.maxFutureSlots)
        guard slotOverflow || reference.slot <= latestSlot else {
            throw fail(
                .slotTooFarAhead,
                "chunk \(reference.chunkID) is of slot \(reference.slot), more than \(rules.maxFutureSlots) "
                    + "slots after the block's \(rules.slot(at: timestamp))")
        }
        let set: ValidatorSet
        do {
            set = try validators.validators(epoch: certificate.epoch)
        } catch {
            throw fail(.invalidCertificate, "no validator set for epoch \(certificate.epoch): \(error)")
        }
        guard set.contains(reference.producer) else {
            throw fail(
                .producerNotAValidator,
                "chunk \(reference.chunkID)'s producer \(reference.producer) is not a validator of epoch "
                    + "\(certificate.epoch)")
        }
        do {
            try certificates.verify(certificate, against: set, rules: rules, domain: domain)
        } catch {
            let code: BlockVerificationError.Code =
                switch error.code {
                case .insufficientWeight: .belowQuorum
                case .badSignature: .badSignature
                case .wrongEpoch, .epochNotOfSlot: .wrongEpoch
                default: .invalidCertificate
                }
            throw fail(code, "\(error)")
        }
    }

    /// Keeps a verified block until it is accepted or rejected.
    private func keepVerified(_ block: Block) {
        let capacity = max(options.maxProcessingBlocks, 1)
        chain.withLock { $0.keep(block, capacity: capacity) }
    }

    /// Accepts `block`, which must extend the last accepted block: records
    /// it durably first, then fetches the chunks this node lacks from their
    /// signers and executes every accepted block not yet executed. Accepting
    /// the last accepted block again does nothing new but retry execution.
    /// Without `executing`, it only records the block and returns no heights:
    /// the caller runs ``executePending()`` itself (one run at a time), so
    /// the next block can be accepted while this one executes.
    ///
    /// - Throws: ``NodeError/Code/notChildOfLastAccepted``; a chunk no signer
    ///   could serve is ``NodeError/Code/chunkUnavailable``, with the block
    ///   recorded and its execution retried by the next ``accept(_:executing:)`` or
    ///   ``executePending()``.
    @discardableResult
    public func accept(_ block: Block, executing: Bool = true) async throws -> [(height: UInt64, root: StateRoot)] {
        let last = lastAccepted
        if block.id != last.id {
            guard block.parent == last.id, last.height < .max, block.height == last.height + 1 else {
                throw NodeError(
                    .notChildOfLastAccepted,
                    "block \(block.id) at height \(block.height) does not extend the last accepted block "
                        + "\(last.id) at \(last.height)"
                )
            }
            try await store.recordAccepted(block)
            chainTime.advance(to: block.timestamp)
            chain.withLock { chain in
                chain.lastAccepted = block
                chain.processing = chain.processing.filter { $0.value.block.height > block.height }
            }
        }
        return executing ? try await executePending() : []
    }

    /// Forgets `block` after consensus rejected it.
    public func reject(_ block: Block) {
        _ = chain.withLock { $0.processing.removeValue(forKey: block.id) }
    }

    /// The chunk ids of the certificates in `parent` and its ancestors with
    /// timestamps at or after `since`.
    func includedCertificates(from parent: Block, since: Int64) throws -> Set<ChunkID> {
        var ids: Set<ChunkID> = []
        var current: Block? = parent
        while let block = current, block.timestamp >= since {
            for certificate in block.certificates { ids.insert(certificate.reference.chunkID) }
            guard block.height > 0 else { break }
            current = try self.block(id: block.parent, height: block.height - 1)
            if current == nil {
                throw NodeError(.unknownParent, "ancestor \(block.parent) at height \(block.height - 1) is not known")
            }
        }
        return ids
    }

    /// A verified or accepted block.
    func block(id: BlockID, height: UInt64) throws -> Block? {
        if let processing = chain.withLock({ $0.processing[id]?.block }) { return processing }
        if let accepted = try store.block(at: height), accepted.id == id { return accepted }
        return nil
    }
}

extension ChunkCertificate {
    /// The bytes of the certificate in a block's encoding: the reference,
    /// the epoch, the signer bits and the signatures, each with its length.
    var encodedBodyBytes: Int {
        signatures.reduce(ChunkReference.bodyByteCount + 8 + 4 + signers.bytes.count) { $0 + 4 + $1.count }
    }
}
