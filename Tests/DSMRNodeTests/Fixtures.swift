import ChunkStore
import DSMR
import DSMRNode
import DSMRTestSupport
import Foundation
import Testing

/// Deterministic keys, rules and stores for the node's tests.
enum Fixture: FixtureSigners {
    static let networkID: UInt32 = 77
    static let chainID = try! ChainID(bytes: (0..<32).map { UInt8($0 ^ 0x5A) })
    static let domain = SigningDomain(networkID: networkID, chainID: chainID)

    /// Four validators of equal stake.
    static let signers = (1...4).map { signer(UInt8($0)) }
    /// A key that is no validator.
    static let outsider = signer(99)

    static func validators(_ signers: [Ed25519Signer] = signers, weight: UInt64 = 10) -> [Validator] {
        signers.map { Validator(publicKey: $0.publicKey, weight: weight) }
    }

    /// 1 s slots, 10 s chunk lifetime, a 20 s validity window, 20 s epochs,
    /// 10-slot rate-limit windows of 4000 bandwidth units.
    static let rules = Rules(
        slotDuration: 1_000, chunkLifetime: 10_000, maxFutureSlots: 2, maxChunkBytes: 2_000, maxChunksPerSlot: 1,
        rateLimitWindow: 10,
        maxUnitsPerWindow: Dimensions(
            bandwidth: 4_000, compute: 1 << 40, storageRead: 1 << 40, storageAllocate: 1 << 40,
            storageWrite: 1 << 40),
        epochDuration: 20_000, maxBlockSkew: 5_000, validityWindow: 20_000)

    /// ``rules`` with room for a busy cluster: 8 kB chunks, 40 kB per window.
    static let clusterRules = {
        var busy = Fixture.rules
        busy.maxChunkBytes = 8_000
        busy.maxUnitsPerWindow.bandwidth = 40_000
        return busy
    }()

    static func configuration(_ path: String, signer: Ed25519Signer, rules: Rules = rules) -> StoreConfiguration {
        var configuration = StoreConfiguration(
            path: path, networkID: networkID, chainID: chainID, nodeID: signer.nodeID, rules: rules)
        configuration.signer = signer
        configuration.mapSize = 1 << 20
        return configuration
    }

    /// A chunk signed by `producer` with one transaction `payload`.
    static func chunk(_ producer: Ed25519Signer, slot: UInt64, payload: [UInt8] = [1, 2, 3]) -> Chunk {
        try! Chunk.sign(
            producer: producer, beneficiary: producer.nodeID, slot: slot, transactions: [payload], domain: domain)
    }

    /// `certificate` with its last signer and signature left out: below quorum.
    static func oneSignerShort(_ certificate: ChunkCertificate) -> ChunkCertificate {
        let indices = certificate.signers.indices.dropLast()
        return try! ChunkCertificate(
            reference: certificate.reference, epoch: certificate.epoch, signers: SignerBitSet(indices: indices),
            signatures: Array(certificate.signatures.dropLast()))
    }

    /// A certificate for `chunk` signed by the first `count` of `signers`.
    static func certificate(
        _ chunk: Chunk, signedBy count: Int = 3, epochSet: ValidatorSet? = nil, rules: Rules = rules
    ) -> ChunkCertificate {
        certificate(ChunkReference(chunk: chunk, rules: rules), signedBy: count, epochSet: epochSet, rules: rules)
    }

    /// A certificate for `reference`, whatever its expiry, signed by the
    /// first `count` of `signers` for the epoch `rules` give its slot.
    static func certificate(
        _ reference: ChunkReference, signedBy count: Int = 3, epochSet: ValidatorSet? = nil, rules: Rules = rules
    ) -> ChunkCertificate {
        let set =
            epochSet ?? (try! ValidatorSet(epoch: rules.epoch(ofSlot: reference.slot), validators: validators()))
        let shares = set.validators.prefix(count).map { validator in
            try! SignatureShare.sign(
                reference, rules: rules, signer: signers.first { $0.nodeID == validator.nodeID }!, domain: domain)
        }
        return try! ChunkCertificate.aggregate(
            reference: reference, shares: Array(shares), validators: set, rules: rules)
    }
}

/// The code of the `ErrorReply` `body` throws, or nil when it succeeds.
func replyCode<T>(_ body: () async throws -> T) async -> ErrorReply.Code? {
    do {
        _ = try await body()
        return nil
    } catch let reply as ErrorReply {
        return reply.code
    } catch {
        Issue.record("expected an ErrorReply, got \(error)")
        return nil
    }
}

/// A store and a chunk server for `signer` in `path`, chain time read from the store.
func makeServer(
    _ path: String, signer: Ed25519Signer = Fixture.signers[0], clock: ManualClock = ManualClock(),
    schedule: ValidatorSchedule = ValidatorSchedule(initial: Fixture.validators(), rules: Fixture.rules)
) throws -> (ChunkStore, ChunkServer) {
    let store = try ChunkStore(Fixture.configuration(path, signer: signer))
    let server = ChunkServer(
        store: store, validators: schedule, chainTime: try ChainTimeSource(store: store), clock: clock)
    return (store, server)
}

/// The code `node` refuses `block` on `parent` with, or nil when it verifies.
func verificationCode(_ node: Node, _ block: Block, parent: Block) -> BlockVerificationError.Code? {
    do {
        try node.verify(block: block, parent: parent)
        return nil
    } catch let error as BlockVerificationError {
        return error.code
    } catch {
        Issue.record("unexpected \(error)")
        return nil
    }
}
