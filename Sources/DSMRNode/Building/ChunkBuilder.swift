import ChunkStore
import DSMR

/// A chunk this node built, and its certificate when a quorum signed it.
public struct BuiltChunk: Sendable {
    /// The chunk, stored and signed by this node.
    public let chunk: Chunk
    /// The certificate, stored and gossiped; nil when the shares gathered
    /// by the deadline did not reach the quorum (then nothing was stored or
    /// gossiped but the chunk, and its transactions went back to the mempool).
    public let certificate: ChunkCertificate?
    /// The stake that signed.
    public let signedWeight: UInt64
    /// How long each of its transactions waited in the mempool before the
    /// chunk took it, in the chunk's order.
    public let mempoolWaits: [Duration]
    /// From taking the transactions to the chunk stored and signed by this
    /// node (encoding, the producer's signature, the synced write).
    public let buildTime: Duration
    /// From the chunk stored to its certificate stored (asking the other
    /// validators for shares, aggregating); zero without a certificate.
    public let certifyTime: Duration
}

extension Node {
    /// Builds a chunk for the current slot from the mempool's transactions
    /// assigned to this node (those assigned to other validators are dropped
    /// from this node's mempool), within the size and rate limits, stores it,
    /// asks every validator of the slot's epoch for a share until a quorum
    /// by stake signed or ``NodeOptions/aggregationDeadline`` passes (see
    /// `gatherShares(for:reference:set:own:)`: done at quorum, a refusal
    /// costs a validator one request), then stores and gossips the
    /// certificate. Returns nil when there is nothing to put in a chunk, or
    /// when this node already built a chunk for the slot, or the slot is
    /// below the store's signing floor (as after a state sync, until the
    /// slots this validator may have signed before it lost its store pass).
    ///
    /// The slot is the current one, unless chain time lags so far behind
    /// the clock that peers would refuse its expiry (past chain time +
    /// `validityWindow`) or the next block could not carry it: then it is
    /// the latest slot both allow, so a chain that has been idle still gets
    /// chunks signed and blocks built. A slot whose chunk did not certify is
    /// never tried again: while chain time stands still there is no later
    /// slot to take, and a block without certificates
    /// (``buildBlock(parent:timestamp:verifier:)``, a slot after its parent)
    /// moves chain time so that the next slot becomes available.
    ///
    /// - Throws: ``NodeError/Code/notAValidator`` when this node is not a
    ///   validator of the epoch; the store's errors.
    public func buildChunk() async throws -> BuiltChunk? {
        let rules = self.rules
        let now = clock.now()
        let slot = chunkSlot(now: now)
        if try store.signedChunk(producer: nodeID, slot: Slot(slot)) != nil { return nil }
        // Slots below the floor are closed (pruned, or possibly signed before the store was lost).
        if try slot < store.signingFloor() { return nil }
        let set = try validators.validators(epoch: rules.epoch(ofSlot: slot))
        guard set.contains(nodeID) else {
            throw NodeError(.notAValidator, "\(nodeID) is not a validator of epoch \(set.epoch)")
        }
        let expiry = rules.expiry(ofSlot: slot)
        let transactions = takeTransactions(set: set, slot: slot, expiry: expiry)
        guard !transactions.isEmpty else { return nil }
        let started = ContinuousClock.now
        let mempoolWaits = transactions.map { $0.arrival.duration(to: started) }
        let chunk: Chunk
        let ownShare: SignatureShare
        do {
            chunk = try Chunk.sign(
                producer: signer, beneficiary: nodeID, slot: slot, transactions: transactions.map(\.transaction.bytes),
                domain: domain)
            ownShare = try await store.storeOwnChunk(chunk, now: now)
        } catch {
            mempool.restore(transactions)
            throw error
        }
        let stored = ContinuousClock.now
        let shares = await gatherShares(for: chunk, reference: ownShare.reference, set: set, own: ownShare)
        let weight = shares.reduce(0) { $0 + (set.validator($1.signer)?.weight ?? 0) }
        guard
            let certificate = try? ChunkCertificate.aggregate(
                reference: ownShare.reference, shares: shares, validators: set, rules: rules)
        else {
            mempool.restore(transactions)
            return BuiltChunk(
                chunk: chunk, certificate: nil, signedWeight: weight, mempoolWaits: mempoolWaits,
                buildTime: started.duration(to: stored), certifyTime: .zero)
        }
        try await store.addCertificate(certificate)
        let certified = ContinuousClock.now
        let gossip = NodeMessage.certificateGossip(certificate).encoded()
        for validator in set.validators where validator.nodeID != nodeID {
            await transport.gossip(gossip, to: validator.nodeID)
        }
        return BuiltChunk(
            chunk: chunk, certificate: certificate, signedWeight: weight, mempoolWaits: mempoolWaits,
            buildTime: started.duration(to: stored), certifyTime: stored.duration(to: certified))
    }

    /// Takes from the mempool the transactions assigned to this node that
    /// have not expired by the slot's start, and fit the chunk and what is left of the rate limit.
    private func takeTransactions(set: ValidatorSet, slot: UInt64, expiry: Int64) -> [MempoolEntry] {
        let rules = self.rules
        let window = rules.window(ofSlot: slot)
        let used = (try? store.ledgerUsage(producer: nodeID, window: window)) ?? rules.maxUnitsPerWindow
        var units = Dimensions(bandwidth: UInt64(Chunk.minimumEncodedBytes + 64))
        var bytes = Chunk.minimumEncodedBytes + 64
        let start = rules.slotStart(slot)
        return mempool.take(at: start) { transaction in
            // Another validator's transaction: it lands in that validator's chunk, never in this node's.
            guard TransactionPartition.validator(for: transaction.sponsor, in: set) == nodeID else { return .discard }
            let size = 4 + transaction.bytes.count
            var declared = transaction.units
            declared.bandwidth = UInt64(size)
            guard bytes + size <= rules.maxChunkBytes, let total = try? units.adding(declared),
                used.canAdd(total, limit: rules.maxUnitsPerWindow)
            else { return .keep }
            bytes += size
            units = total
            return .take
        }
    }

    /// The slot of the next chunk: the current one, or, when chain time
    /// lags behind the clock, the latest slot that peers accept (expiry at
    /// most chain time + `validityWindow`) and that the next block can carry
    /// (the next block lies at most `maxBlockSkew` after chain time, and its
    /// epoch must be the chunk's or the one after).
    func chunkSlot(now: ChainTime) -> UInt64 {
        let rules = self.rules
        let current = rules.slot(at: now.milliseconds)
        let chain = chainTime.now.milliseconds
        let (windowEnd, overflow) = chain.addingReportingOverflow(rules.validityWindow - rules.chunkLifetime)
        let (nextBlock, skewOverflow) = chain.addingReportingOverflow(rules.maxBlockSkew)
        guard !overflow, !skewOverflow else { return current }
        return min(current, rules.slot(at: windowEnd), rules.slot(at: nextBlock))
    }

    /// Asks every validator of `set` that has not signed yet for a share, in
    /// rounds, until the signers reach the quorum by stake or
    /// ``NodeOptions/aggregationDeadline`` passes.
    ///
    /// Answers are handled as they arrive; once a quorum signed, the requests
    /// still out are cancelled and not waited for. A refusal, an invalid
    /// share (wrong signer, wrong reference, bad signature) or silence costs
    /// a validator that request only: it is asked again in the next round.
    /// Rounds are separated by a pause that starts at
    /// ``NodeOptions/fetchBackoff`` and doubles, up to
    /// ``NodeOptions/shareTimeout``, so validators that refuse at once are
    /// not asked in a tight loop.
    func gatherShares(
        for chunk: Chunk, reference: ChunkReference, set: ValidatorSet, own: SignatureShare
    ) async -> [SignatureShare] {
        let request = NodeMessage.requestChunkSignatureShare(chunk).encoded()
        let rules = self.rules
        let deadline = ContinuousClock.now + options.aggregationDeadline
        var shares: [NodeID: SignatureShare] = [nodeID: own]
        var weight = set.validator(nodeID)?.weight ?? 0
        var pause = options.fetchBackoff
        while !set.hasQuorum(signedWeight: weight, quorum: rules.quorum) {
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else { break }
            let pending = set.validators.filter { shares[$0.nodeID] == nil }
            if pending.isEmpty { break }
            let timeout = min(options.shareTimeout, remaining)
            let gathered = await askRound(
                pending, request: request, reference: reference, timeout: timeout, set: set, signed: weight)
            for share in gathered where shares[share.signer] == nil {
                shares[share.signer] = share
                weight += set.validator(share.signer)?.weight ?? 0
            }
            if set.hasQuorum(signedWeight: weight, quorum: rules.quorum) { break }
            let left = ContinuousClock.now.duration(to: deadline)
            guard left > .zero else { break }
            try? await Task.sleep(for: min(pause, left))
            pause = min(pause * 2, options.shareTimeout)
        }
        return Array(shares.values)
    }

    /// One round: asks each of `pending` once, at the same time, and returns
    /// the valid shares received by the time the signers (with the `signed`
    /// weight already in hand) reach the quorum, or every request answered
    /// or timed out. The requests left are cancelled, not waited for.
    private func askRound(
        _ pending: [Validator], request: [UInt8], reference: ChunkReference, timeout: Duration, set: ValidatorSet,
        signed: UInt64
    ) async -> [SignatureShare] {
        let rules = self.rules
        let domain = self.domain
        let transport = self.transport
        // A child gives the validator's share, or nil for anything else: an error reply, an
        // invalid share, an undecodable answer, or none in time. What no honest validator
        // answers (not a reply, a share for something else, a bad signature) is its offence.
        return await withTaskGroup(of: SignatureShare?.self) { group in
            for validator in pending {
                group.addTask {
                    let bytes = await Race<[UInt8]>.first(within: timeout) {
                        try? await transport.request(request, to: validator.nodeID, timeout: timeout)
                    }
                    guard let bytes else { return nil }
                    let share: SignatureShare
                    switch try? NodeMessage(decoding: bytes) {
                    case .chunkSignature(let answered)?: share = answered
                    case .error?: return nil
                    default:
                        transport.penalize(validator.nodeID, for: .invalidMessage)
                        return nil
                    }
                    guard share.signer == validator.nodeID, share.reference == reference else {
                        transport.penalize(validator.nodeID, for: .invalidMessage)
                        return nil
                    }
                    guard share.verify(publicKey: validator.publicKey, rules: rules, domain: domain) else {
                        transport.penalize(validator.nodeID, for: .invalidSignature)
                        return nil
                    }
                    return share
                }
            }
            var shares: [SignatureShare] = []
            var weight = signed
            for await answer in group {
                guard let share = answer else { continue }
                shares.append(share)
                weight += set.validator(share.signer)?.weight ?? 0
                if set.hasQuorum(signedWeight: weight, quorum: rules.quorum) {
                    group.cancelAll()
                    break
                }
            }
            return shares
        }
    }
}
