import DSMR
import DSMRTestSupport

/// Deterministic keys, domains and values shared by the tests.
enum Fixtures: FixtureSigners {
    static let chainID = try! ChainID(bytes: (0..<32).map { UInt8($0) })
    static let domain = SigningDomain(networkID: 1337, chainID: chainID)
    static let otherChain = SigningDomain(
        networkID: 1337, chainID: try! ChainID(bytes: (0..<32).map { UInt8(255 - $0) }))
    /// The default rules but six-second epochs, so the fixtures' slot 42 is in epoch 7.
    static let rules = Rules(epochDuration: 6_000)

    static func validatorSet(_ signers: [Ed25519Signer], epoch: UInt64 = 7, weights: [UInt64]? = nil) -> ValidatorSet {
        let validators = signers.enumerated().map { index, signer in
            Validator(publicKey: signer.publicKey, weight: weights?[index] ?? 10)
        }
        return try! ValidatorSet(epoch: epoch, validators: validators)
    }

    static func chunk(
        producer: Ed25519Signer = signer(1), slot: UInt64 = 42,
        transactions: [[UInt8]] = [[1, 2, 3], [], Array("hello".utf8)]
    ) -> Chunk {
        try! Chunk.sign(
            producer: producer, beneficiary: signer(2).nodeID, slot: slot, transactions: transactions,
            domain: domain)
    }

    static func reference(_ chunk: Chunk = chunk()) -> ChunkReference {
        ChunkReference(chunk: chunk, rules: rules)
    }

    static func shares(
        _ signers: [Ed25519Signer], reference: ChunkReference, domain: SigningDomain = domain
    ) -> [SignatureShare] {
        signers.map { try! SignatureShare.sign(reference, rules: rules, signer: $0, domain: domain) }
    }

    /// A certificate signed by the first `signing` of `all` signers, for the chunk of `slot`.
    static func certificate(
        all: [Ed25519Signer], signing: Int, domain: SigningDomain = domain, slot: UInt64 = 42
    ) throws -> ChunkCertificate {
        let reference = reference(chunk(slot: slot))
        let set = validatorSet(all, epoch: rules.epoch(ofSlot: slot))
        return try ChunkCertificate.aggregate(
            reference: reference, shares: shares(Array(all.prefix(signing)), reference: reference, domain: domain),
            validators: set, rules: rules)
    }

    static func block(certificates: [ChunkCertificate]) -> Block {
        Block(
            parent: try! BlockID(hex: String(repeating: "ab", count: 32)), height: 9, timestamp: 1_700_000_000_123,
            certificates: certificates)
    }
}
