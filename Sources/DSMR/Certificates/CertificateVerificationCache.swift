import Synchronization

/// Remembers certificates that verified, so one seen again (gossiped, then in
/// a block, then in the next block's validity window) costs a hash instead of
/// a signature check per signer.
///
/// An entry is the SHA-256 of the certificate's bytes together with the
/// validator set's fingerprint, the signing domain and the quorum: a hit
/// means this exact certificate verified against this exact set under these
/// exact terms. Only successes are remembered. The oldest entry goes first
/// once `capacity` is reached.
public final class CertificateVerificationCache: Sendable {
    private struct State: ~Copyable {
        var entries = Set<[UInt8]>()
        var order: [[UInt8]] = []
        var next = 0
        var hits = 0
        var misses = 0
    }

    /// The most certificates remembered.
    public let capacity: Int
    private let state = Mutex(State())

    /// A cache for up to `capacity` certificates.
    public init(capacity: Int = 16_384) {
        precondition(capacity > 0, "capacity must be positive")
        self.capacity = capacity
    }

    /// Verifies `certificate` like ``ChunkCertificate/verify(against:domain:quorum:verifier:)``,
    /// answering from the cache when the same certificate verified before
    /// against the same set, domain and quorum.
    public func verify(
        _ certificate: ChunkCertificate, against validators: ValidatorSet, domain: SigningDomain,
        quorum: Quorum = .default, verifier: some SignatureVerifier = Ed25519Verifier()
    ) throws(CertificateError) {
        var writer = CanonicalWriter()
        certificate.encode(to: &writer)
        writer.writeRaw(validators.fingerprint)
        writer.write(domain.networkID)
        writer.write(domain.chainID)
        writer.write(quorum.numerator)
        writer.write(quorum.denominator)
        let key = sha256(writer.bytes).withUnsafeBytes { Array($0) }
        let known = state.withLock { state in
            let found = state.entries.contains(key)
            if found { state.hits += 1 } else { state.misses += 1 }
            return found
        }
        if known { return }
        try certificate.verify(against: validators, domain: domain, quorum: quorum, verifier: verifier)
        state.withLock { state in
            guard state.entries.insert(key).inserted else { return }
            if state.order.count < capacity {
                state.order.append(key)
            } else {
                state.entries.remove(state.order[state.next])
                state.order[state.next] = key
                state.next = (state.next + 1) % capacity
            }
        }
    }

    /// Lookups answered from the cache and lookups that verified.
    public var counts: (hits: Int, misses: Int) {
        state.withLock { ($0.hits, $0.misses) }
    }
}
