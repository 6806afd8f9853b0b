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
}

extension Node {
    /// Builds a chunk for the current slot from the mempool's transactions
    /// assigned to this node (those assigned to other validators are dropped
    /// from this node's mempool), within the size and rate limits, stores it,
    /// asks every validator of the slot's epoch for a share until a quorum
    /// by stake signed or ``NodeOptions/aggregationDeadline`` passes
    /// (asking the silent ones again), then stores and gossips the
    /// certificate. Returns nil when there is nothing to put in a chunk, or
    /// when this node already built a chunk for the slot.
    ///
    /// The slot is the current one, unless chain time lags so far behind
    /// the clock that peers would refuse its expiry (past chain time +
    /// `validityWindow`) or the next block could not carry it: then it is
    /// the latest slot both allow, so a chain that has been idle still gets
    /// chunks signed and blocks built.
    ///
    /// - Throws: ``NodeError/Code/notAValidator`` when this node is not a
    ///   validator of the epoch; the store's errors.
    public func buildChunk() async throws -> BuiltChunk? {
        let rules = self.rules
        let now = clock.now()
        let slot = chunkSlot(now: now)
        if try store.signedChunk(producer: nodeID, slot: Slot(slot)) != nil { return nil }
        let set = try validators.validators(epoch: rules.epoch(ofSlot: slot))
        guard set.contains(nodeID) else {
            throw NodeError(.notAValidator, "\(nodeID) is not a validator of epoch \(set.epoch)")
        }
        let expiry = rules.expiry(ofSlot: slot)
        let transactions = takeTransactions(set: set, slot: slot, expiry: expiry)
        guard !transactions.isEmpty else { return nil }
        let chunk: Chunk
        let ownShare: SignatureShare
        do {
            chunk = try Chunk.sign(
                producer: signer, beneficiary: nodeID, slot: slot, transactions: transactions.map(\.bytes),
                domain: domain)
            ownShare = try await store.storeOwnChunk(chunk, now: now)
        } catch {
            mempool.restore(transactions)
            throw error
        }
        let shares = await gatherShares(for: chunk, reference: ownShare.reference, set: set, own: ownShare)
        let weight = shares.reduce(0) { $0 + (set.validator($1.signer)?.weight ?? 0) }
        guard
            let certificate = try? ChunkCertificate.aggregate(
                reference: ownShare.reference, shares: shares, validators: set, rules: rules)
        else {
            mempool.restore(transactions)
            return BuiltChunk(chunk: chunk, certificate: nil, signedWeight: weight)
        }
        try await store.addCertificate(certificate)
        let gossip = NodeMessage.certificateGossip(certificate).encoded()
        for validator in set.validators where validator.nodeID != nodeID {
            await transport.gossip(gossip, to: validator.nodeID)
        }
        return BuiltChunk(chunk: chunk, certificate: certificate, signedWeight: weight)
    }

    /// Takes from the mempool the transactions assigned to this node that
    /// have not expired by the slot's start, and fit the chunk and what is left of the rate limit.
    private func takeTransactions(set: ValidatorSet, slot: UInt64, expiry: Int64) -> [PendingTransaction] {
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

    /// Whether a refusal may go away on asking again: the peer is busy, or
    /// its chain time or clock lags (the chunk looks too far ahead).
    static func isTransient(_ code: ErrorReply.Code) -> Bool {
        code == .overloaded || code == .tooFarInFuture || code == .notAvailable
    }

    /// Asks every other validator of `set` for a share until the quorum is
    /// reached or the deadline passes; validators that refuse for good
    /// (conflict, rate limit, invalid, expired, not a validator) are not
    /// asked again.
    private func gatherShares(
        for chunk: Chunk, reference: ChunkReference, set: ValidatorSet, own: SignatureShare
    ) async -> [SignatureShare] {
        let request = NodeMessage.requestChunkSignatureShare(chunk).encoded()
        let rules = self.rules
        let domain = self.domain
        let deadline = ContinuousClock.now + options.aggregationDeadline
        var shares: [NodeID: SignatureShare] = [nodeID: own]
        var refused: Set<NodeID> = []
        var weight = set.validator(nodeID)?.weight ?? 0
        while !set.hasQuorum(signedWeight: weight, quorum: rules.quorum), ContinuousClock.now < deadline {
            let pending = set.validators.filter { shares[$0.nodeID] == nil && !refused.contains($0.nodeID) }
            if pending.isEmpty { break }
            let answers = await withTaskGroup(of: (Validator, NodeMessage?).self) { group in
                for validator in pending {
                    group.addTask { [transport, options] in
                        let bytes = try? await transport.request(
                            request, to: validator.nodeID, timeout: options.shareTimeout)
                        return (validator, bytes.flatMap { try? NodeMessage(decoding: $0) })
                    }
                }
                var answers: [(Validator, NodeMessage?)] = []
                for await answer in group { answers.append(answer) }
                return answers
            }
            var silent = true
            for (validator, answer) in answers {
                switch answer {
                case .chunkSignature(let share)?:
                    guard share.signer == validator.nodeID, share.reference == reference,
                        share.verify(publicKey: validator.publicKey, rules: rules, domain: domain)
                    else {
                        refused.insert(validator.nodeID)
                        continue
                    }
                    shares[validator.nodeID] = share
                    weight += validator.weight
                    silent = false
                case .error(let reply)? where !Self.isTransient(reply.code):
                    refused.insert(validator.nodeID)
                    silent = false
                default:
                    break
                }
            }
            if silent { try? await Task.sleep(for: options.fetchBackoff) }
        }
        return Array(shares.values)
    }
}
