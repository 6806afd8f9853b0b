import Synchronization

/// Remembers certificates that verified and certificates whose signatures
/// did not, so one seen again (gossiped, then in a block, then in the next
/// block's validity window; or an invalid one gossiped again and again)
/// costs a hash instead of signature checks.
///
/// The signature verifier is fixed when the cache is made, so an entry
/// always means "verified by this cache's verifier". An entry is the SHA-256
/// of the certificate's bytes together with the validator set's fingerprint
/// and the signing domain: everything a signature's outcome depends on. The
/// checks that cost no signature (the epoch against the rules and the set,
/// the signer bits, the quorum) run on every call, so the rules passed need
/// not be part of the key. The oldest entry goes first once a side is full.
///
/// The cache bounds what one certificate costs, not what many distinct
/// invalid certificates cost: limiting or dropping peers that gossip invalid
/// certificates belongs to the node.
public final class CertificateVerificationCache: Sendable {
    private struct State: ~Copyable {
        var verified: RecentEntries<Void>
        var rejected: RecentEntries<CertificateError>
        var hits = 0
        var rejectedHits = 0
        var misses = 0
    }

    /// The most verified certificates remembered.
    public let capacity: Int
    /// The most certificates with a bad signature remembered.
    public let rejectedCapacity: Int
    private let verifier: any SignatureVerifier
    private let state: Mutex<State>

    /// A cache for up to `capacity` verified and `rejectedCapacity` invalid
    /// certificates, checking signatures with `verifier`.
    public init(
        capacity: Int = 16_384, rejectedCapacity: Int = 4_096, verifier: some SignatureVerifier = Ed25519Verifier()
    ) {
        precondition(capacity > 0 && rejectedCapacity > 0, "capacities must be positive")
        self.capacity = capacity
        self.rejectedCapacity = rejectedCapacity
        self.verifier = verifier
        self.state = Mutex(
            State(verified: RecentEntries(capacity: capacity), rejected: RecentEntries(capacity: rejectedCapacity)))
    }

    /// Verifies `certificate` like ``ChunkCertificate/verify(against:rules:domain:verifier:)``
    /// with this cache's verifier, answering from the cache when the same
    /// certificate's signatures were checked before against the same set in
    /// the same domain; a remembered failure is thrown again as it was.
    public func verify(
        _ certificate: ChunkCertificate, against validators: ValidatorSet, rules: Rules, domain: SigningDomain
    ) throws(CertificateError) {
        try certificate.checkTerms(against: validators, rules: rules)
        var writer = CanonicalWriter()
        certificate.encode(to: &writer)
        writer.writeRaw(validators.fingerprint)
        writer.write(domain.networkID)
        writer.write(domain.chainID)
        let key = sha256(writer.bytes).withUnsafeBytes { Array($0) }
        let known: Result<Bool, CertificateError> = state.withLock { state in
            if state.verified[key] != nil {
                state.hits += 1
                return .success(true)
            }
            if let error = state.rejected[key] {
                state.rejectedHits += 1
                return .failure(error)
            }
            state.misses += 1
            return .success(false)
        }
        if try known.get() { return }
        do {
            try certificate.checkSignatures(against: validators, domain: domain, verifier: verifier)
        } catch {
            state.withLock { $0.rejected.insert(error, for: key) }
            throw error
        }
        state.withLock { $0.verified.insert((), for: key) }
    }

    /// Lookups answered from the cache with success, answered from the cache
    /// with a remembered failure, and lookups that checked signatures.
    public var counts: (hits: Int, rejectedHits: Int, misses: Int) {
        state.withLock { ($0.hits, $0.rejectedHits, $0.misses) }
    }
}
