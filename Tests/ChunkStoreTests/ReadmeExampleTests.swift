import ChunkStore
import StoreMaintenance
import DSMR
import DSMRTestSupport
import Foundation
import Testing

/// The example of ChunkStore's "Using the store from Swift" article
/// (Sources/ChunkStore/Documentation.docc/UsingTheStore.md), compiled and
/// run; the test also checks that the article shows exactly this code.
@Suite struct ReadmeExampleTests {
    @Test func theReadmeExampleRunsAndMatchesTheReadme() async throws {
        try await withTemporaryDirectory("readme") { path in try await runTheStore(directory: path + "/store") }

        let source = try String(contentsOfFile: #filePath, encoding: .utf8)
        let example = try #require(source.components(separatedBy: "// README example\n").dropFirst().first)
        let readmePath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("Sources/ChunkStore/Documentation.docc/UsingTheStore.md").path
        let readme = try String(contentsOfFile: readmePath, encoding: .utf8)
        #expect(readme.contains("```swift\nimport ChunkStore\nimport DSMR\n\n" + example + "```\n"))
    }
}

// README example
func runTheStore(directory: String) async throws {
    // Open (created if missing): one store per node, network and chain.
    let me = try Ed25519Signer(seed: [UInt8](repeating: 7, count: 32))
    let peer = try Ed25519Signer(seed: [UInt8](repeating: 8, count: 32))
    let chain = try ChainID(bytes: [UInt8](repeating: 1, count: 32))
    let domain = SigningDomain(networkID: 1, chainID: chain)
    let validators = try ValidatorSet(
        epoch: 0, validators: [me, peer].map { Validator(publicKey: $0.publicKey, weight: 10) })
    var configuration = StoreConfiguration(
        path: directory, networkID: 1, chainID: chain, nodeID: me.nodeID, rules: .default)
    configuration.signer = me
    let store = try ChunkStore(configuration)
    defer { store.close() }

    // Sign: the chunk is durable before the share exists.
    let chunk = try Chunk.sign(
        producer: peer, beneficiary: peer.nodeID, slot: 20, transactions: [[1, 2, 3]], domain: domain)
    let myShare = try await store.persistAndSign(
        chunk, validators: validators, now: .milliseconds(20_000))

    // Read back, by id and expiry, as every reference carries both.
    let reference = ChunkReference(chunk: chunk, rules: configuration.rules)
    let stored = try store.chunk(reference)
    precondition(stored?.chunk == chunk && stored?.summary.status == .pending)

    // Accept: a block carrying the chunk's certificate marks it accepted and
    // moves the watermark to the block's timestamp.
    let rules = configuration.rules
    let peerShare = try SignatureShare.sign(reference, rules: rules, signer: peer, domain: domain)
    let certificate = try ChunkCertificate.aggregate(
        reference: reference, shares: [myShare, peerShare], validators: validators, rules: rules)
    let genesis = try BlockID(bytes: [UInt8](repeating: 0, count: 32))
    let block = Block(parent: genesis, height: 1, timestamp: 21_000, certificates: [certificate])
    let accepted = try await store.recordAccepted(block)
    precondition(accepted.missingChunks.isEmpty)

    // Collect: everything that expired at or below a later chain time goes.
    let garbage = try await store.collectGarbage(upTo: .milliseconds(reference.expiry + 60_000 + 1))
    precondition(garbage.expiredAccepted == 1)

    // Check: every row, in one snapshot; safe beside the writer.
    let report = try store.check()
    precondition(report.isClean, "\(report.problems)")
}
