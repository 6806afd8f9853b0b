import DSMR

/// The signature work `ChunkStore.persistAndSign` does for each chunk, done
/// alone, without the store: the half of the sign rows' second baseline
/// (`limit`) that is not raw LMDB.
///
/// Per chunk, exactly the calls the sign path makes outside its write
/// transaction:
/// - the producer looked up in the validator set;
/// - `Chunk.verifySignature(publicKey:domain:)`: a SHA-256 of the producer's
///   32-byte key (is it the producer's node id?), the 82-byte signed message
///   (tag, network, chain, the chunk's signing digest) and one Ed25519
///   verification (decoding the key's point, a double scalar multiplication);
/// - `SignatureShare.sign(_:rules:signer:domain:)` with the store's key: the
///   reference's 77-byte body under its tag, one Ed25519 signature (two
///   SHA-512s, one fixed-base scalar multiplication).
///
/// Not in it, because the sign path does not do it either: hashing the
/// chunk's bytes. A `Chunk`'s id and signing digest (SHA-256 over its 16 KiB)
/// are computed once when the value is built or decoded, before any store
/// sees it; the rows hand the store chunks built beforehand. The store's own
/// SHA-256 over each 87-byte record header (its checksum) is storage work and
/// counts against the store.
struct SignLimit {
    let validators: ValidatorSet
    let rules: Rules
    let domain: SigningDomain
    let signer: Ed25519Signer

    /// Does the work for `chunk` once; fails if the chunk does not verify,
    /// as the store would refuse it.
    func work(_ chunk: Chunk) throws {
        guard let validator = validators.validator(chunk.producer),
            chunk.verifySignature(publicKey: validator.publicKey, domain: domain)
        else { throw BenchError("sign limit: chunk \(chunk.id) does not verify") }
        let reference = ChunkReference(chunk: chunk, rules: rules)
        _ = try SignatureShare.sign(reference, rules: rules, signer: signer, domain: domain)
    }

    /// Wall seconds for the work of every chunk in `chunks` on `workers`
    /// tasks at once (one per core: the concurrency pool has one thread per
    /// core), each taking every `workers`-th chunk.
    func parallelSeconds(_ chunks: ArraySlice<Chunk>, workers: Int) async throws -> Double {
        let all = Array(chunks)
        return try await seconds {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<workers {
                    group.addTask {
                        for index in stride(from: worker, to: all.count, by: workers) { try work(all[index]) }
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    /// Wall seconds for the work of every chunk in `chunks`, one after the
    /// other on this thread.
    func serialSeconds(_ chunks: ArraySlice<Chunk>) throws -> Double {
        try seconds { for chunk in chunks { try work(chunk) } }
    }
}
