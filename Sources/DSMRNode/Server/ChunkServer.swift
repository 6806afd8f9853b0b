import ChunkStore
import DSMR
import Synchronization

/// The chunk server's handlers: signs chunks it stored, serves chunks it
/// holds and takes in gossiped certificates once they verify.
///
/// Malformed input is answered with ``ErrorReply/Code/malformed``; no input
/// makes a handler trap.
package final class ChunkServer: MessageHandler {
    /// The node's store.
    package let store: ChunkStore
    /// Validator sets by epoch.
    package let validators: any ValidatorSetProvider
    /// The last accepted block's timestamp.
    package let chainTime: ChainTimeSource
    /// The local clock, for how far ahead a chunk's slot may be.
    package let clock: any NodeClock
    /// Remembers certificates already checked.
    package let certificates: CertificateVerificationCache
    /// The most requests handled at once; more are answered ``ErrorReply/Code/overloaded``.
    package let maxConcurrentRequests: Int
    /// Told of what a peer sent that no honest validator sends (see ``PeerOffence``).
    package let penalize: @Sendable (NodeID, PeerOffence) -> Void
    private let inFlight = Mutex(0)
    private let stateSync = Mutex<(any StateSyncService)?>(nil)

    /// Hands the state-sync messages to `service` from now on.
    package func serveStateSync(_ service: any StateSyncService) { stateSync.withLock { $0 = service } }

    /// A server over `store`.
    package init(
        store: ChunkStore, validators: any ValidatorSetProvider, chainTime: ChainTimeSource, clock: any NodeClock,
        certificates: CertificateVerificationCache = CertificateVerificationCache(), maxConcurrentRequests: Int = 1_024,
        penalize: @escaping @Sendable (NodeID, PeerOffence) -> Void = { _, _ in }
    ) {
        self.store = store
        self.validators = validators
        self.chainTime = chainTime
        self.clock = clock
        self.certificates = certificates
        self.maxConcurrentRequests = maxConcurrentRequests
        self.penalize = penalize
    }

    var rules: Rules { store.configuration.rules }
    var domain: SigningDomain { store.configuration.domain }
    var limits: DecodingLimits { DecodingLimits(rules: rules) }

    package func handleRequest(_ request: [UInt8], from peer: NodeID) async -> [UInt8] {
        let admitted = inFlight.withLock { count in
            guard count < maxConcurrentRequests else { return false }
            count += 1
            return true
        }
        guard admitted else {
            return NodeMessage.error(ErrorReply(.overloaded, "\(maxConcurrentRequests) requests in hand")).encoded()
        }
        defer { inFlight.withLock { $0 -= 1 } }
        let reply: NodeMessage
        do {
            reply = try await answer(to: try decode(request, from: peer), from: peer)
        } catch let refusal as ErrorReply {
            reply = .error(refusal)
        } catch {
            reply = .error(ErrorReply(.overloaded, "cannot answer now: \(error)"))
        }
        return reply.encoded()
    }

    package func handleGossip(_ message: [UInt8], from peer: NodeID) async {
        guard let decoded = try? decode(message, from: peer) else { return }
        switch decoded {
        case .certificateGossip(let certificate):
            _ = try? await receive(certificate, from: peer)
        case .stateAttestation(let attestation):
            await stateSync.withLock { $0 }?.receive(attestation, from: peer)
        default:
            penalize(peer, .invalidMessage)
        }
    }

    private func decode(_ bytes: [UInt8], from peer: NodeID) throws(ErrorReply) -> NodeMessage {
        do {
            return try NodeMessage(decoding: bytes, limits: limits)
        } catch {
            penalize(peer, .invalidMessage)
            throw ErrorReply(.malformed, "\(error)")
        }
    }

    private func answer(to request: NodeMessage, from peer: NodeID) async throws -> NodeMessage {
        switch request {
        case .requestChunkSignatureShare(let chunk):
            return .chunkSignature(try await signatureShare(for: chunk, from: peer))
        case .requestChunk(let id, let expiry):
            return .chunk(try serveChunk(id, expiry: expiry))
        case .requestStateOffer:
            let (certificate, manifest) = try await stateSyncService().offer()
            return .stateOffer(certificate, manifest)
        case .requestSnapshotPiece(let height, let index):
            return .snapshotPiece(try await stateSyncService().piece(height: height, index: index))
        case .requestBlock(let height):
            guard let block = try store.block(at: height) else {
                throw ErrorReply(.notAvailable, "no accepted block is held at height \(height)")
            }
            let bytes = block.encoded()
            guard bytes.count <= NodeMessage.maxServedBlockBytes(limits: limits) else {
                throw ErrorReply(.notAvailable, "block \(height) is \(bytes.count) bytes, more than a message carries")
            }
            return .block(bytes)
        default:
            penalize(peer, .invalidMessage)
            throw ErrorReply(.malformed, "not a request")
        }
    }

    private func stateSyncService() throws(ErrorReply) -> any StateSyncService {
        guard let service = stateSync.withLock({ $0 }) else {
            throw ErrorReply(.notAvailable, "this node serves no snapshots")
        }
        return service
    }

    /// Stores `chunk` and signs the reference derived from it.
    ///
    /// Its expiry must lie in (chain time, chain time + validity window]: a
    /// chunk expiring at chain time is already at the store's watermark, so
    /// it counts as expired. That is checked first, so only the epochs of
    /// slots near chain time ever reach the validator-set provider. Then the
    /// producer must be a validator of the chunk's epoch and the chunk signed
    /// with that validator's registered key. Asking again for the same chunk
    /// gives the same share at no second charge.
    ///
    /// A chunk whose producer signature does not verify, or that breaks the
    /// chunk rules, is an offence of `peer`, the validator that asked (see
    /// ``PeerOffence``).
    ///
    /// - Throws: ``ErrorReply`` saying why no share is given.
    package func signatureShare(for chunk: Chunk, from peer: NodeID? = nil) async throws -> SignatureShare {
        let rules = self.rules
        let expiry = rules.expiry(ofSlot: chunk.slot)
        let now = chainTime.now.milliseconds
        guard expiry > now else {
            throw ErrorReply(.expired, "chunk \(chunk.id) expires at \(expiry), not after chain time \(now)")
        }
        let (latest, overflow) = now.addingReportingOverflow(rules.validityWindow)
        guard overflow || expiry <= latest else {
            throw ErrorReply(
                .tooFarInFuture,
                "chunk \(chunk.id) expires at \(expiry), after chain time \(now) + validity window "
                    + "\(rules.validityWindow)"
            )
        }
        let epoch = rules.epoch(ofSlot: chunk.slot)
        let set: ValidatorSet
        do {
            set = try validators.validators(epoch: epoch)
        } catch {
            throw ErrorReply(.notAValidator, "no validator set for epoch \(epoch): \(error)")
        }
        guard set.contains(chunk.producer) else {
            throw ErrorReply(.notAValidator, "producer \(chunk.producer) is not a validator of epoch \(epoch)")
        }
        do {
            return try await store.persistAndSign(chunk, validators: set, now: clock.now())
        } catch let error as ChunkStoreError {
            if let peer {
                switch error.code {
                case .badSignature: penalize(peer, .invalidSignature)
                case .tooLarge, .invalidChunk: penalize(peer, .invalidMessage)
                default: break
                }
            }
            throw Self.reply(for: error)
        }
    }

    static func reply(for error: ChunkStoreError) -> ErrorReply {
        let code: ErrorReply.Code =
            switch error.code {
            case .notAValidator: .notAValidator
            case .badSignature, .tooLarge, .invalidChunk: .invalid
            case .expired: .expired
            case .tooFarInFuture: .tooFarInFuture
            case .conflictingChunk: .conflicting
            case .rateLimited: .rateLimited
            default: .overloaded
            }
        return ErrorReply(code, error.message)
    }

    /// The canonical bytes of a held chunk, pending or accepted.
    ///
    /// - Throws: ``ErrorReply/Code/notAvailable`` when no chunk with this id and expiry is held.
    package func serveChunk(_ id: ChunkID, expiry: Int64) throws -> [UInt8] {
        guard let bytes = try store.chunkBytes(id, expiry: expiry) else {
            throw ErrorReply(.notAvailable, "no chunk \(id) expiring at \(expiry)")
        }
        return bytes
    }

    /// Keeps a gossiped certificate once it verifies: quorum of its epoch's
    /// stake and every signature, and, when the chunk is held, naming that
    /// chunk. Returns whether it was stored; a certificate already held for
    /// the chunk is never replaced.
    ///
    /// Before any signature or validator-set lookup, the certificate must
    /// be one a block could carry from here: its expiry that of its slot,
    /// its epoch that of the slot, and its expiry after chain time and at
    /// most `validityWindow` + `maxBlockSkew` after it (the next block lies
    /// at most `maxBlockSkew` after chain time, and carries no chunk
    /// expiring more than `validityWindow` after its parent). So only the
    /// epochs near chain time reach the validator-set provider, and no
    /// certificate is kept that no block could include.
    ///
    /// A certificate that breaks those rules or does not verify is an
    /// offence of `peer`, the validator that gossiped it (see
    /// ``PeerOffence``); one outside the window is not.
    ///
    /// - Throws: ``ErrorReply/Code/invalid`` when it does not verify,
    ///   ``ErrorReply/Code/expired`` or ``ErrorReply/Code/tooFarInFuture``
    ///   when its expiry lies outside that window.
    @discardableResult
    package func receive(_ certificate: ChunkCertificate, from peer: NodeID? = nil) async throws -> Bool {
        let penalize: (PeerOffence) -> Void = { offence in if let peer { self.penalize(peer, offence) } }
        let rules = self.rules
        let reference = certificate.reference
        // Checked before any signature: honest validators sign only the expiry the rules give the slot.
        guard reference.expiry == rules.expiry(ofSlot: reference.slot) else {
            penalize(.invalidMessage)
            throw ErrorReply(.invalid, "certificate's expiry \(reference.expiry) is not that of slot \(reference.slot)")
        }
        let slotEpoch = rules.epoch(ofSlot: reference.slot)
        guard certificate.epoch == slotEpoch else {
            penalize(.invalidMessage)
            throw ErrorReply(
                .invalid,
                "certificate says epoch \(certificate.epoch) but slot \(reference.slot) is in epoch \(slotEpoch)")
        }
        let now = chainTime.now.milliseconds
        guard reference.expiry > now else {
            throw ErrorReply(.expired, "certificate's chunk expires at \(reference.expiry), by chain time \(now)")
        }
        let (window, overflow) = rules.validityWindow.addingReportingOverflow(rules.maxBlockSkew)
        let (latest, later) = now.addingReportingOverflow(window)
        guard overflow || later || reference.expiry <= latest else {
            throw ErrorReply(
                .tooFarInFuture,
                "certificate's chunk expires at \(reference.expiry), after chain time \(now) + validity window "
                    + "\(rules.validityWindow) + block skew \(rules.maxBlockSkew)")
        }
        let set: ValidatorSet
        do {
            set = try validators.validators(epoch: certificate.epoch)
        } catch {
            throw ErrorReply(.invalid, "no validator set for epoch \(certificate.epoch): \(error)")
        }
        do {
            try certificates.verify(certificate, against: set, rules: rules, domain: domain)
        } catch {
            penalize(.invalidSignature)
            throw ErrorReply(.invalid, "\(error)")
        }
        if let held = try store.summary(of: reference.chunkID, expiry: reference.expiry) {
            guard held.producer == reference.producer, held.slot == reference.slot else {
                penalize(.invalidMessage)
                throw ErrorReply(
                    .invalid,
                    "certificate names producer \(reference.producer) slot \(reference.slot) but chunk "
                        + "\(reference.chunkID) is of \(held.producer) slot \(held.slot)")
            }
        }
        return try await store.addCertificate(certificate)
    }
}
