import ChunkStore
import DSMR
import DSMRTestSupport
import Foundation
import Testing

/// Deterministic keys, rules and values for the store's tests.
enum Fixture: FixtureSigners {
    static let networkID: UInt32 = 4242
    static let chainID = try! ChainID(bytes: (0..<32).map { UInt8($0) })
    static let otherChainID = try! ChainID(bytes: (0..<32).map { UInt8(255 - $0) })
    static let domain = SigningDomain(networkID: networkID, chainID: chainID)

    /// The node that owns the store and signs shares.
    static let node = signer(10)
    /// Remote producers, all validators.
    static let producers = [signer(1), signer(2), signer(3)]
    /// A producer outside the validator set.
    static let outsider = signer(50)
    /// The validators: the remote producers and the node.
    static let validatorSigners = producers + [node]
    static let validators = try! ValidatorSet(
        epoch: 0, validators: validatorSigners.map { Validator(publicKey: $0.publicKey, weight: 10) })

    /// Small rules so that windows fill and chunks expire within a test:
    /// 1 s slots, 5 s lifetime, 4-slot windows of 1000 bandwidth units,
    /// chunks of at most 600 bytes.
    static let rules = Rules(
        slotDuration: 1_000, chunkLifetime: 5_000, maxFutureSlots: 2, maxChunkBytes: 600, maxChunksPerSlot: 1,
        rateLimitWindow: 4,
        maxUnitsPerWindow: Dimensions(
            bandwidth: 1_000, compute: 1 << 40, storageRead: 1 << 40, storageAllocate: 1 << 40,
            storageWrite: 1 << 40),
        epochDuration: 3_600_000, maxBlockSkew: 5_000, validityWindow: 5_000)

    /// A synced store configuration for `path`, signing as `node`.
    static func configuration(
        _ path: String, rules: Rules = rules, durability: StoreDurability = .synced
    ) -> StoreConfiguration {
        var configuration = StoreConfiguration(
            path: path, networkID: networkID, chainID: chainID, nodeID: node.nodeID, rules: rules)
        configuration.signer = node
        configuration.durability = durability
        configuration.acceptedRetention = 3_000
        configuration.evidenceRetention = 4_000
        configuration.mapSize = 1 << 20
        return configuration
    }

    /// A chunk signed by `producer` carrying one transaction `payload`.
    static func chunk(_ producer: Ed25519Signer, slot: UInt64, payload: [UInt8]) -> Chunk {
        try! Chunk.sign(
            producer: producer, beneficiary: producer.nodeID, slot: slot, transactions: [payload], domain: domain)
    }

    /// A chunk of `producer` with `size` payload bytes derived from `tag`.
    static func chunk(_ producer: Ed25519Signer, slot: UInt64, size: Int = 40, tag: UInt64 = 0) -> Chunk {
        chunk(producer, slot: slot, payload: payload(size: size, tag: tag))
    }

    /// `size` bytes that differ for different tags.
    static func payload(size: Int, tag: UInt64) -> [UInt8] {
        var generator = SeededGenerator(seed: tag &* 0x9E37_79B9 &+ UInt64(size))
        return generator.bytes(size)
    }

    /// A chunk that names `producer` but carries a signature that is not its.
    static func badlySigned(_ producer: Ed25519Signer, slot: UInt64, payload: [UInt8]) -> Chunk {
        let forged = chunk(outsider, slot: slot, payload: payload)
        return try! Chunk(
            producer: producer.nodeID, beneficiary: producer.nodeID, slot: slot, transactions: [payload],
            signature: forged.signature)
    }

    /// The units the default measure charges for `chunk`: its encoded size.
    static func units(_ chunk: Chunk) -> Dimensions {
        Dimensions(bandwidth: UInt64(chunk.encoded().count))
    }

    static func reference(_ chunk: Chunk) -> ChunkReference {
        ChunkReference(chunk: chunk, rules: rules)
    }

    /// A certificate for `chunk` signed by three of the four validators.
    static func certificate(_ chunk: Chunk) -> ChunkCertificate {
        certificate(reference(chunk))
    }

    static func certificate(_ reference: ChunkReference) -> ChunkCertificate {
        let shares = validatorSigners.prefix(3).map {
            try! SignatureShare.sign(reference, rules: rules, signer: $0, domain: domain)
        }
        return try! ChunkCertificate.aggregate(
            reference: reference, shares: Array(shares), validators: validators, rules: rules)
    }

    /// A block at `height` after `parent` certifying `chunks`.
    static func block(
        parent: BlockID = .zero, height: UInt64, timestamp: Int64, certifying chunks: [Chunk] = []
    ) -> Block {
        Block(parent: parent, height: height, timestamp: timestamp, certificates: chunks.map(certificate))
    }
}

/// Runs `body` and returns the `ChunkStoreError` code it threw, or nil when
/// it succeeded.
func errorCode<T>(_ body: () async throws -> T) async -> ChunkStoreError.Code? {
    do {
        _ = try await body()
        return nil
    } catch let error as ChunkStoreError {
        return error.code
    } catch {
        Issue.record("expected a ChunkStoreError, got \(error)")
        return nil
    }
}

/// Runs the blocking `body` on its own thread, off Swift's cooperative pool,
/// and returns its result.
func onDedicatedThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.stackSize = 8 << 20
        thread.start()
    }
}
