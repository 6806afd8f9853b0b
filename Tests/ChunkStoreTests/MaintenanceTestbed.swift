import ChunkStore
import DSMR
import DSMRTestSupport
import Foundation
import LMDB

/// Helpers to fill real stores in one fresh temporary directory and to damage
/// them, for the maintenance tests. The keys are `Fixture`'s: index 0 is the
/// node, 1...3 the remote producers; the rules allow larger chunks.
struct MaintenanceTestbed {
    static let signers = [Fixture.node] + Fixture.producers
    static let chainID = Fixture.chainID
    static let networkID = Fixture.networkID
    static let validators = Fixture.validators
    static let rules = Rules(
        slotDuration: 1_000, chunkLifetime: 10_000, maxFutureSlots: 5, maxChunkBytes: 64 << 10,
        rateLimitWindow: 4,
        maxUnitsPerWindow: Dimensions(
            bandwidth: 1 << 20, compute: 1 << 20, storageRead: 1 << 20, storageAllocate: 1 << 20, storageWrite: 1 << 20)
    )
    static var domain: SigningDomain { Fixture.domain }

    let directory: String

    init() {
        directory = makeTemporaryDirectory("dsmr-maintenance")
    }

    func path(_ name: String) -> String { directory + "/" + name }

    func removeAll() { try? FileManager.default.removeItem(atPath: directory) }

    /// The configuration of the node with signer `node` (0-based) at `name`.
    func configuration(_ name: String, node: Int = 0) -> StoreConfiguration {
        var configuration = StoreConfiguration(
            path: path(name), networkID: Self.networkID, chainID: Self.chainID,
            nodeID: Self.signers[node].nodeID, rules: Self.rules)
        configuration.signer = Self.signers[node]
        return configuration
    }

    func open(_ name: String, node: Int = 0) throws -> ChunkStore {
        try ChunkStore(configuration(name, node: node))
    }

    static func chunk(producer: Int, slot: UInt64, payload: UInt8 = 0, size: Int = 200) -> Chunk {
        try! Chunk.sign(
            producer: signers[producer], beneficiary: signers[producer].nodeID, slot: slot,
            transactions: [[UInt8](repeating: payload, count: size)], domain: domain)
    }

    static func certificate(for chunk: Chunk) -> ChunkCertificate {
        let reference = ChunkReference(chunk: chunk, rules: rules)
        let shares = signers.prefix(3).map {
            try! SignatureShare.sign(reference, rules: rules, signer: $0, domain: domain)
        }
        return try! ChunkCertificate.aggregate(
            reference: reference, shares: shares, validators: validators, rules: rules)
    }

    /// Signs `slots` chunks for producers 1...3, certifies every other one and
    /// accepts a block with the first certificate; returns the chunks.
    @discardableResult
    static func fill(_ store: ChunkStore, slots: ClosedRange<UInt64> = 1...6) async throws -> [Chunk] {
        var chunks: [Chunk] = []
        for slot in slots {
            for producer in 1...3 {
                let chunk = chunk(producer: producer, slot: slot, payload: UInt8(slot))
                _ = try await store.persistAndSign(
                    chunk, validators: validators, now: .milliseconds(Int64(slot) * 1_000))
                chunks.append(chunk)
            }
        }
        for chunk in chunks.enumerated().filter({ $0.offset % 2 == 0 }).map(\.element) {
            try await store.addCertificate(certificate(for: chunk))
        }
        let block = Block(
            parent: try BlockID(bytes: [UInt8](repeating: 0, count: 32)), height: 1, timestamp: 1_500,
            certificates: [certificate(for: chunks[0])])
        try await store.recordAccepted(block)
        return chunks
    }

    /// Opens the store's LMDB environment directly, to damage it.
    func withRawEnvironment(_ name: String, _ body: (Environment) throws -> Void) throws {
        var options = EnvironmentOptions(path: path(name))
        options.databases = [
            "meta", "chunks", "by_slot_producer", "by_expiry", "certificates", "signed", "ledger", "evidence", "blocks",
        ]
        let environment = try Environment(options)
        defer { environment.close() }
        try body(environment)
    }
}
