import ChunkStore
import DSMR
import Synchronization

/// Fetches chunks this node lacks from the validators that certified them.
///
/// A reply must decode as a chunk whose id is the certificate's chunk id
/// (and whose producer and slot are the reference's); anything else counts
/// as a failure of that signer and the next is asked. Each round asks every
/// signer but this node once; rounds are separated by a doubling backoff, up
/// to ``rounds``. Concurrent fetches of one chunk share one attempt.
public final class ChunkFetcher: Sendable {
    /// This node, never asked.
    public let local: NodeID
    let transport: any Transport
    let validators: any ValidatorSetProvider
    let limits: DecodingLimits
    /// How long to wait for one answer.
    public let timeout: Duration
    /// How many times each signer is asked.
    public let rounds: Int
    /// The pause before the second round; it doubles each round.
    public let backoff: Duration
    /// The fetch under way for each chunk, by id. An entry is made only
    /// for a certificate of an accepted block being executed and removed
    /// when its fetch ends, so the table holds at most the certificates of
    /// the blocks being executed at once (`maxCertificatesPerBlock` each),
    /// whatever peers send.
    private let inFlight = Mutex<[ChunkID: Task<Chunk, any Error>]>([:])

    /// A fetcher asking through `transport` as `local`.
    public init(
        local: NodeID, transport: any Transport, validators: any ValidatorSetProvider, limits: DecodingLimits,
        timeout: Duration, rounds: Int, backoff: Duration
    ) {
        self.local = local
        self.transport = transport
        self.validators = validators
        self.limits = limits
        self.timeout = timeout
        self.rounds = rounds
        self.backoff = backoff
    }

    /// The chunk `certificate` names, from one of its signers.
    ///
    /// - Throws: ``NodeError/Code/chunkUnavailable`` naming every signer's
    ///   last failure when no signer served it in ``rounds`` rounds.
    public func fetch(_ certificate: ChunkCertificate) async throws -> Chunk {
        let id = certificate.reference.chunkID
        let task = inFlight.withLock { tasks in
            if let running = tasks[id] { return running }
            let task = Task { try await self.attempt(certificate) }
            tasks[id] = task
            return task
        }
        // Forget this attempt once done, unless a newer one took its place.
        defer { inFlight.withLock { tasks in if tasks[id] == task { tasks[id] = nil } } }
        return try await task.value
    }

    private func attempt(_ certificate: ChunkCertificate) async throws -> Chunk {
        let reference = certificate.reference
        let set = try validators.validators(epoch: certificate.epoch)
        let signers = certificate.signers.indices.compactMap { $0 < set.count ? set.validators[$0].nodeID : nil }
            .filter { $0 != local }
        var failures: [NodeID: String] = [:]
        var pause = backoff
        for round in 0..<rounds {
            if round > 0 {
                try await Task.sleep(for: pause)
                pause *= 2
            }
            for peer in signers {
                do {
                    return try await ask(peer, for: reference)
                } catch {
                    failures[peer] = "\(error)"
                }
            }
        }
        let detail = signers.map { "\($0): \(failures[$0] ?? "not asked")" }.joined(separator: "; ")
        throw NodeError(
            .chunkUnavailable,
            "no signer served chunk \(reference.chunkID) (expiry \(reference.expiry)) in \(rounds) rounds"
                + (signers.isEmpty ? ": no signer but this node" : ": \(detail)"))
    }

    private func ask(_ peer: NodeID, for reference: ChunkReference) async throws -> Chunk {
        let request = NodeMessage.requestChunk(reference.chunkID, expiry: reference.expiry).encoded()
        let bytes = try await transport.request(request, to: peer, timeout: timeout)
        // A server answers with the chunk it holds or an error; anything else is the peer's offence.
        let answer: NodeMessage
        do {
            answer = try NodeMessage(decoding: bytes)
        } catch {
            transport.penalize(peer, for: .invalidMessage)
            throw error
        }
        switch answer {
        case .chunk(let bytes):
            let chunk: Chunk
            do {
                chunk = try Chunk(decoding: bytes, limits: limits)
            } catch {
                transport.penalize(peer, for: .invalidMessage)
                throw error
            }
            guard chunk.id == reference.chunkID, chunk.producer == reference.producer, chunk.slot == reference.slot
            else {
                transport.penalize(peer, for: .invalidMessage)
                throw NodeError(.chunkUnavailable, "\(peer) answered with chunk \(chunk.id), not \(reference.chunkID)")
            }
            return chunk
        case .error(let reply):
            throw reply
        default:
            transport.penalize(peer, for: .invalidMessage)
            throw ErrorReply(.malformed, "\(peer) answered a chunk request with something else")
        }
    }
}

/// The node's chunks: from its store, else fetched from signers and stored as accepted.
struct FetchingChunkSource: ChunkSource {
    let store: ChunkStore
    let fetcher: ChunkFetcher

    func chunk(for certificate: ChunkCertificate) async throws -> Chunk {
        if let held = try store.chunk(certificate.reference) { return held.chunk }
        let chunk = try await fetcher.fetch(certificate)
        // The store checks the producer's signature under the certificate's
        // epoch and that an accepted block's certificate names the chunk.
        let validators = try fetcher.validators.validators(epoch: certificate.epoch)
        try await store.storeAcceptedChunk(chunk, for: certificate.reference, validators: validators)
        return chunk
    }
}
