import ChunkStore
import DSMR
import LMDB

/// Keys, rules and data every row shares. Everything is deterministic: the
/// same run makes the same chunks.
enum Fixture {
    static let networkID: UInt32 = 1337
    static let chainID = try! ChainID(bytes: (0..<32).map { UInt8($0) })
    static let domain = SigningDomain(networkID: networkID, chainID: chainID)
    /// The default rules: 1 s slots, 60 s chunk lifetime, 10-slot rate-limit
    /// windows, 2 MiB chunks, 67/100 quorum.
    static let rules = Rules.default
    /// The size of the store's record header in front of a chunk's bytes
    /// (`ChunkStore.recordHeaderSize`): the raw baseline writes
    /// values of the same size, header included.
    static let recordHeaderSize = ChunkStore.recordHeaderSize

    /// The signer whose seed is derived from `n` (validators use 1 and up;
    /// the node under test uses `nodeSeed`).
    static func signer(_ n: Int) -> Ed25519Signer {
        try! Ed25519Signer(seed: [UInt8](repeating: 0x5A, count: 24) + bigEndian(UInt64(n)))
    }

    static let nodeSeed = 1_000_000
    /// The node whose store is measured; it is not a producer.
    static let node = signer(nodeSeed)

    /// Validators 1...count, weight 10 each.
    static func signers(_ count: Int) -> [Ed25519Signer] { (1...count).map(signer) }

    static func validatorSet(_ signers: [Ed25519Signer], epoch: UInt64 = 0) -> ValidatorSet {
        try! ValidatorSet(epoch: epoch, validators: signers.map { Validator(publicKey: $0.publicKey, weight: 10) })
    }

    /// A store configuration for the node at `path`.
    static func configuration(path: String, durability: StoreDurability, mapSize: Int) -> StoreConfiguration {
        var configuration = StoreConfiguration(
            path: path, networkID: networkID, chainID: chainID, nodeID: node.nodeID, rules: rules)
        configuration.signer = node
        configuration.durability = durability
        configuration.mapSize = mapSize
        return configuration
    }

    /// A chunk of `producer` for `slot`, signed, whose canonical encoding is
    /// exactly `encodedSize` bytes: `transactions` transactions of
    /// pseudo-random bytes (the last one takes the remainder).
    static func chunk(producer: Ed25519Signer, slot: UInt64, encodedSize: Int, transactions: Int) throws -> Chunk {
        let overhead = Chunk.minimumEncodedBytes + Ed25519Verifier.signatureByteCount + 4 * transactions
        let payload = encodedSize - overhead
        precondition(payload >= transactions, "chunk of \(encodedSize) bytes cannot hold \(transactions) transactions")
        var random = SeededGenerator(seed: UInt64(truncatingIfNeeded: producer.nodeID.hashValue) ^ slot &* 0x1000_0001)
        let each = payload / transactions
        var bodies: [[UInt8]] = []
        bodies.reserveCapacity(transactions)
        for index in 0..<transactions {
            bodies.append(random.packedBytes(index == transactions - 1 ? payload - each * (transactions - 1) : each))
        }
        let chunk = try Chunk.sign(
            producer: producer, beneficiary: producer.nodeID, slot: slot, transactions: bodies, domain: domain)
        precondition(chunk.encodedSize == encodedSize, "chunk is \(chunk.encodedSize) bytes, not \(encodedSize)")
        return chunk
    }

    /// The raw baseline's record for `chunk`: the store's key (expiry, id)
    /// and a value of the store record's size (a header's worth of bytes,
    /// then the chunk).
    static func record(_ chunk: Chunk) -> RawRecord {
        var value = [UInt8](repeating: 1, count: recordHeaderSize)
        value.append(contentsOf: chunk.encoded())
        return RawRecord(key: bigEndian(UInt64(rules.expiry(ofSlot: chunk.slot))) + chunk.id.bytes, value: value)
    }

    /// Makes `count` chunks, spread over every core. `spec(i)` gives the
    /// producer (an index into `producers`) and the slot of chunk `i`.
    static func chunks(
        count: Int, producers: [Ed25519Signer], encodedSize: Int, transactions: Int,
        spec: @escaping @Sendable (Int) -> (producer: Int, slot: UInt64)
    ) async throws -> [Chunk] {
        let workers = processorCount
        return try await withThrowingTaskGroup(of: [(Int, Chunk)].self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var made: [(Int, Chunk)] = []
                    for index in stride(from: worker, to: count, by: workers) {
                        let (producer, slot) = spec(index)
                        made.append(
                            (
                                index,
                                try chunk(
                                    producer: producers[producer], slot: slot, encodedSize: encodedSize,
                                    transactions: transactions)
                            ))
                    }
                    return made
                }
            }
            var slots = [Chunk?](repeating: nil, count: count)
            for try await made in group { for (index, chunk) in made { slots[index] = chunk } }
            return slots.map { $0! }
        }
    }

    /// Persists and signs `chunks` with `callers` concurrent callers, each
    /// taking every `callers`-th chunk in turn.
    static func persist(
        _ chunks: ArraySlice<Chunk>, into store: ChunkStore, validators: ValidatorSet, now: Int64, callers: Int
    ) async throws {
        let count = chunks.count
        let all = Array(chunks)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for caller in 0..<min(callers, count) {
                group.addTask {
                    for index in stride(from: caller, to: count, by: callers) {
                        _ = try await store.persistAndSign(all[index], validators: validators, now: .milliseconds(now))
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// Makes and persists `count` chunks without keeping them: `callers`
    /// concurrent callers each build a chunk, persist and sign it, and go on
    /// with the next. Logs progress every tenth.
    static func fill(
        _ store: ChunkStore, count: Int, producers: [Ed25519Signer], validators: ValidatorSet, now: Int64,
        encodedSize: Int, transactions: Int, callers: Int, label: String,
        spec: @escaping @Sendable (Int) -> (producer: Int, slot: UInt64)
    ) async throws {
        let step = max(1, count / 10)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for caller in 0..<min(callers, count) {
                group.addTask {
                    for index in stride(from: caller, to: count, by: callers) {
                        let (producer, slot) = spec(index)
                        let chunk = try chunk(
                            producer: producers[producer], slot: slot, encodedSize: encodedSize,
                            transactions: transactions)
                        _ = try await store.persistAndSign(chunk, validators: validators, now: .milliseconds(now))
                        if caller == 0 && index / callers % max(1, step / callers) == 0 && index > 0 {
                            log("  \(label): \(index * 100 / count)%")
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}
