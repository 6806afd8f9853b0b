import ChunkStore
import DSMR

extension Node {
    /// Builds a block on `parent` at `timestamp` from the held certificates,
    /// in expiry order.
    ///
    /// Skips certificates whose chunk expired before `timestamp` (an expiry
    /// equal to it is still valid), ones an ancestor within the validity
    /// window already includes, ones of neither the block's epoch nor the one
    /// before, and ones that do not verify; passes the rest through
    /// `verifier` (an error drops the certificate, `false` stops).
    ///
    /// - Throws: ``NodeError/Code/timestampNotAfterParent``,
    ///   ``NodeError/Code/unknownParent``, or
    ///   ``NodeError/Code/noAvailableCertificates`` when none is left.
    public func buildBlock(
        parent: Block, timestamp: Int64, verifier: some BuildChunkVerifier = AcceptEveryChunk()
    ) throws -> Block {
        guard timestamp > parent.timestamp else {
            throw NodeError(
                .timestampNotAfterParent, "timestamp \(timestamp) is not after the parent's \(parent.timestamp)")
        }
        let included = try includedCertificates(from: parent, since: timestamp - rules.validityWindow)
        let epoch = rules.epoch(at: timestamp)
        let limit = DecodingLimits(rules: rules).maxCertificatesPerBlock
        var chosen: [ChunkCertificate] = []
        var chosenIDs: Set<ChunkID> = []
        for certificate in try store.certificates(validAt: .milliseconds(timestamp - 1)) {
            if chosen.count >= limit { break }
            let id = certificate.reference.chunkID
            guard !included.contains(id), !chosenIDs.contains(id),
                certificate.epoch == epoch || certificate.epoch + 1 == epoch,
                (try? checkCertificate(certificate)) != nil
            else { continue }
            do {
                guard try verifier.verifyChunk(certificate, timestamp: timestamp) else { break }
            } catch {
                continue
            }
            chosen.append(certificate)
            chosenIDs.insert(id)
        }
        guard !chosen.isEmpty else {
            throw NodeError(.noAvailableCertificates, "no certificate can go into a block at \(timestamp)")
        }
        return Block(parent: parent.id, height: parent.height + 1, timestamp: timestamp, certificates: chosen)
    }

    /// Checks `block` against `parent` without needing any chunk, in this
    /// order: parent id, height, timestamp after the parent's and at most
    /// `maxBlockSkew` after it, at least one certificate, no certificate
    /// repeated in the block or in an ancestor within the validity window,
    /// then each certificate: not expired at the block's timestamp, of the
    /// block's epoch or the one before, and verified for its epoch. A block
    /// that passes is kept until accepted or rejected.
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
            throw BlockVerificationError(.noCertificates, "the block has no certificate")
        }
        let included = try includedCertificates(from: parent, since: block.timestamp - rules.validityWindow)
        var seen: Set<ChunkID> = []
        for (index, certificate) in block.certificates.enumerated() {
            let id = certificate.reference.chunkID
            guard seen.insert(id).inserted, !included.contains(id) else {
                throw BlockVerificationError(
                    .repeatedCertificate, certificate: index,
                    "certificate of chunk \(id) is already in this block or an ancestor within the validity window")
            }
        }
        let epoch = rules.epoch(at: block.timestamp)
        for (index, certificate) in block.certificates.enumerated() {
            let reference = certificate.reference
            guard reference.expiry >= block.timestamp else {
                throw BlockVerificationError(
                    .expiredCertificate, certificate: index,
                    "chunk \(reference.chunkID) expired at \(reference.expiry), before the block's \(block.timestamp)")
            }
            guard certificate.epoch == epoch || certificate.epoch + 1 == epoch else {
                throw BlockVerificationError(
                    .wrongEpoch, certificate: index,
                    "certificate of epoch \(certificate.epoch) in a block of epoch \(epoch)")
            }
            do {
                try checkCertificate(certificate)
            } catch let error as CertificateError {
                let code: BlockVerificationError.Code =
                    switch error.code {
                    case .insufficientWeight: .belowQuorum
                    case .badSignature: .badSignature
                    case .wrongEpoch, .epochNotOfSlot: .wrongEpoch
                    default: .invalidCertificate
                    }
                throw BlockVerificationError(code, certificate: index, "\(error)")
            }
        }
        chain.withLock { $0.processing[block.id] = block }
    }

    /// Accepts `block`, which must extend the last accepted block: records
    /// it durably first, then fetches the chunks this node lacks from their
    /// signers and executes every accepted block not yet executed. Accepting
    /// the last accepted block again does nothing new but retry execution.
    ///
    /// - Throws: ``NodeError/Code/notChildOfLastAccepted``; a chunk no signer
    ///   could serve is ``NodeError/Code/chunkUnavailable``, with the block
    ///   recorded and its execution retried by the next ``accept(_:)`` or
    ///   ``executePending()``.
    @discardableResult
    public func accept(_ block: Block) async throws -> [(height: UInt64, root: StateRoot)] {
        let last = lastAccepted
        if block.id != last.id {
            guard block.parent == last.id, block.height == last.height + 1 else {
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
                chain.processing = chain.processing.filter { $0.value.height > block.height }
            }
        }
        return try await executePending()
    }

    /// Forgets `block` after consensus rejected it.
    public func reject(_ block: Block) {
        _ = chain.withLock { $0.processing.removeValue(forKey: block.id) }
    }

    /// Verifies `certificate` for its epoch (through the node's cache).
    func checkCertificate(_ certificate: ChunkCertificate) throws {
        let set = try validators.validators(epoch: certificate.epoch)
        try certificates.verify(certificate, against: set, rules: rules, domain: domain)
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
        if let processing = chain.withLock({ $0.processing[id] }) { return processing }
        if let accepted = try store.block(at: height), accepted.id == id { return accepted }
        return nil
    }
}
