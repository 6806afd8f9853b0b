import DSMR
import Foundation
import Testing

/// Golden vectors: fixed seeds give fixed bytes, ids and signatures, so any
/// change to the format breaks these tests.
///
/// Regenerate with `DSMR_REGENERATE_VECTORS=1 swift test --filter VectorTests`
/// and review the diff. Ed25519 in swift-crypto on Linux (BoringSSL) signs
/// deterministically; CryptoKit on Apple platforms does not, so there the
/// signed vectors are checked by decoding and verifying instead.
@Suite struct VectorTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Vectors")
    static let regenerate = ProcessInfo.processInfo.environment["DSMR_REGENERATE_VECTORS"] == "1"

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    static func bytes(_ hex: Substring) -> [UInt8] {
        var result: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            result.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return result
    }

    /// Renders `entries` as the file's text.
    static func render(_ comment: String, _ entries: [(String, String)]) -> String {
        comment.split(separator: "\n").map { "# \($0)\n" }.joined() + entries.map { "\($0): \($1)\n" }.joined()
    }

    static func entries(in text: String) -> [String: Substring] {
        var result: [String: Substring] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: ": ", maxSplits: 1)
            result[String(parts[0])] = parts.count > 1 ? parts[1] : ""
        }
        return result
    }

    /// Compares (or, when regenerating, writes) a vector file; returns the committed entries.
    @discardableResult
    static func check(
        _ name: String, _ comment: String, _ entries: [(String, String)], signed: Bool
    ) throws -> [String: Substring] {
        let url = directory.appendingPathComponent("\(name).txt")
        let text = render(comment, entries)
        if regenerate {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        let committed = try String(contentsOf: url, encoding: .utf8)
        #if canImport(Darwin)
        if !signed { #expect(committed == text, "vector \(name) changed") }
        #else
        #expect(committed == text, "vector \(name) changed")
        #endif
        return Self.entries(in: committed)
    }

    static let all = Fixtures.signers(4)
    static let chunk = Fixtures.chunk()
    static let reference = Fixtures.reference(chunk)
    static let share = try! SignatureShare.sign(
        reference, rules: Fixtures.rules, signer: Fixtures.signer(3), domain: Fixtures.domain)
    static let certificate = try! Fixtures.certificate(all: all, signing: 3)
    static let block = Fixtures.block(certificates: [certificate])

    static let setting = """
        domain: network 1337, chain 000102...1f; rules: defaults but 6 s epochs (slot 42 is in epoch 7); the signer of seed n has the seed 32 bytes of n
        """

    @Test func keys() throws {
        var entries: [(String, String)] = []
        for signer in Self.all {
            let n = signer.seed[0]
            entries += [
                ("seed\(n).publicKey", Self.hex(signer.publicKey)),
                ("seed\(n).nodeID", signer.nodeID.hex),
            ]
        }
        entries.append(("domain.message(chunk, 010203)", Self.hex(Fixtures.domain.message(.chunk, [1, 2, 3]))))
        entries.append(
            ("domain.message(signatureShare, 010203)", Self.hex(Fixtures.domain.message(.signatureShare, [1, 2, 3]))))
        try Self.check(
            "keys", "Ed25519 keys from seeds, node ids, signing messages.\n" + Self.setting, entries, signed: false)
    }

    @Test func dimensions() throws {
        let value = Dimensions(bandwidth: 1, compute: 256, storageRead: 0, storageAllocate: .max, storageWrite: 42)
        try Self.check(
            "dimensions", "Dimensions(1, 256, 0, UInt64.max, 42)",
            [("fixedBytes", Self.hex(value.fixedBytes)), ("json", value.json)], signed: false)
    }

    @Test func chunk() throws {
        let chunk = Self.chunk
        let committed = try Self.check(
            "chunk",
            "Chunk by seed 1 for beneficiary seed 2, slot 42, transactions [010203, (empty), \"hello\"].\n"
                + Self.setting,
            [
                ("unsignedBytes", Self.hex(chunk.unsignedBytes)),
                ("signingDigest", Self.hex(chunk.signingDigest)),
                ("signedMessage", Self.hex(Fixtures.domain.message(.chunk, chunk.signingDigest))),
                ("signature", Self.hex(chunk.signature)),
                ("encoded", Self.hex(chunk.encoded())),
                ("id", chunk.id.hex),
            ], signed: true)
        let decoded = try Chunk(decoding: Self.bytes(try #require(committed["encoded"])))
        #expect(decoded.id.hex == committed["id"].map(String.init))
        #expect(decoded.verifySignature(publicKey: Fixtures.signer(1).publicKey, domain: Fixtures.domain))
        #expect(decoded.unsignedBytes == chunk.unsignedBytes)
        #expect(Self.hex(decoded.signingDigest) == committed["signingDigest"].map(String.init))
    }

    @Test func chunkReferenceAndShare() throws {
        try Self.check(
            "chunk-reference", "The reference to the chunk vector, expiry from the default rules.\n" + Self.setting,
            [("encoded", Self.hex(Self.reference.encoded()))], signed: true)
        let committed = try Self.check(
            "signature-share", "Seed 3's share over the chunk-reference vector and its epoch, 7.\n" + Self.setting,
            [
                (
                    "signedMessage",
                    Self.hex(SignatureShare.message(for: Self.reference, epoch: 7, domain: Fixtures.domain))
                ),
                ("signature", Self.hex(Self.share.signature)),
                ("encoded", Self.hex(Self.share.encoded())),
            ], signed: true)
        let share = try SignatureShare(decoding: Self.bytes(try #require(committed["encoded"])))
        #expect(share.epoch == 7)
        #expect(share.verify(publicKey: Fixtures.signer(3).publicKey, rules: Fixtures.rules, domain: Fixtures.domain))
    }

    @Test func certificateAndBlock() throws {
        let set = Fixtures.validatorSet(Self.all)
        let certificate = try Self.check(
            "chunk-certificate",
            "Seeds 1-3 certify the chunk-reference vector; validators seeds 1-4, weight 10 each, epoch 7.\n"
                + Self.setting,
            [
                ("signers", Self.hex(Self.certificate.signers.bytes)),
                ("encoded", Self.hex(Self.certificate.encoded())),
            ], signed: true)
        try ChunkCertificate(decoding: Self.bytes(try #require(certificate["encoded"])))
            .verify(against: set, rules: Fixtures.rules, domain: Fixtures.domain)
        let block = try Self.check(
            "block",
            "Block at height 9, timestamp 1700000000123, parent abab...ab, with the certificate vector.\n"
                + Self.setting,
            [("encoded", Self.hex(Self.block.encoded())), ("id", Self.block.id.hex)], signed: true)
        let decoded = try Block(decoding: Self.bytes(try #require(block["encoded"])))
        #expect(decoded.id.hex == block["id"].map(String.init))
        try decoded.certificates[0].verify(against: set, rules: Fixtures.rules, domain: Fixtures.domain)
    }
}
