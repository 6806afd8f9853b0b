import DSMR
import Testing

/// Hostile and broken input: always a ``CodecError`` naming the field, never a
/// crash or a large allocation.
@Suite struct MalformedInputTests {
    typealias Decode = @Sendable ([UInt8], DecodingLimits) throws -> Void

    static let all = Fixtures.signers(4)
    static let certificate = try! Fixtures.certificate(all: all, signing: 3)

    /// Each value's name, its encoding, and its decoder.
    static let samples: [(String, [UInt8], Decode)] = [
        ("chunk", Fixtures.chunk().encoded(), { _ = try Chunk(decoding: $0, limits: $1) }),
        ("chunkReference", Fixtures.reference().encoded(), { _ = try ChunkReference(decoding: $0, limits: $1) }),
        (
            "signatureShare",
            (try! SignatureShare.sign(
                Fixtures.reference(), rules: Fixtures.rules, signer: Fixtures.signer(3), domain: Fixtures.domain))
                .encoded(),
            { _ = try SignatureShare(decoding: $0, limits: $1) }
        ),
        ("chunkCertificate", certificate.encoded(), { _ = try ChunkCertificate(decoding: $0, limits: $1) }),
        (
            "block", Fixtures.block(certificates: [certificate, certificate]).encoded(),
            { _ = try Block(decoding: $0, limits: $1) }
        ),
    ]

    static func codecError(_ bytes: [UInt8], _ decode: Decode, limits: DecodingLimits = .default) -> CodecError? {
        do {
            try decode(bytes, limits)
            return nil
        } catch let error as CodecError {
            return error
        } catch {
            Issue.record("not a CodecError: \(error)")
            return nil
        }
    }

    @Test(arguments: 0..<samples.count)
    func everyTruncationFailsNamingTheValue(_ sample: Int) throws {
        let (name, bytes, decode) = Self.samples[sample]
        #expect(Self.codecError(bytes, decode) == nil)
        for cut in 0..<bytes.count {
            let error = try #require(Self.codecError(Array(bytes[0..<cut]), decode), "cut at \(cut)")
            #expect(error.field.hasPrefix(name), "\(error)")
            #expect(error.code == .truncated || error.code == .lengthExceedsRemaining, "\(error)")
        }
    }

    @Test(arguments: 0..<samples.count)
    func trailingBytesAndOtherVersionsFail(_ sample: Int) throws {
        let (name, bytes, decode) = Self.samples[sample]
        let trailing = try #require(Self.codecError(bytes + [0], decode))
        #expect(trailing.code == .trailingBytes)
        #expect(trailing.field == name)
        var otherVersion = bytes
        otherVersion[0] = 2
        #expect(Self.codecError(otherVersion, decode)?.code == .unsupportedVersion)
    }

    @Test(arguments: 0..<samples.count)
    func everyByteFlipFailsOrDecodesCanonically(_ sample: Int) {
        let (_, bytes, decode) = Self.samples[sample]
        for index in bytes.indices {
            for flip: UInt8 in [0x01, 0x80, 0xff] {
                var mutated = bytes
                mutated[index] ^= flip
                // Either a typed error or a value whose re-encoding is the input.
                _ = Self.codecError(mutated, decode)
            }
        }
        for index in bytes.indices {
            var mutated = bytes
            mutated[index] ^= 0x01
            if let chunk = try? Chunk(decoding: mutated) { #expect(chunk.encoded() == mutated) }
            if let block = try? Block(decoding: mutated) { #expect(block.encoded() == mutated) }
            if let certificate = try? ChunkCertificate(decoding: mutated) { #expect(certificate.encoded() == mutated) }
            if let share = try? SignatureShare(decoding: mutated) { #expect(share.encoded() == mutated) }
        }
    }

    /// Offset of the first transaction's length in a chunk: version, two ids, slot, count.
    static let firstTransactionLength = 1 + 20 + 20 + 8 + 4

    @Test func hugeDeclaredLengthNamesTheTransaction() throws {
        var bytes = Fixtures.chunk(transactions: [[1], [2], [3], [4, 4, 4, 4, 4, 4, 4, 4]]).encoded()
        // Fourth transaction: skip three (length 4 + 1 byte each).
        let offset = Self.firstTransactionLength + 3 * 5
        bytes.replaceSubrange(offset..<offset + 4, with: [0xff, 0xff, 0xff, 0xff])
        do {
            _ = try Chunk(decoding: bytes)
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .lengthExceedsRemaining)
            #expect(
                error.description
                    == "chunk.transactions[3]: declared length 4294967295 exceeds remaining \(bytes.count - offset - 4) bytes"
            )
        }
    }

    @Test func hugeCountIsRefusedBeforeAllocating() throws {
        var bytes = Fixtures.chunk(transactions: []).encoded()
        bytes.replaceSubrange(49..<53, with: [0xff, 0xff, 0xff, 0xff])
        let error = try #require(Self.codecError(bytes) { _ = try Chunk(decoding: $0, limits: $1) })
        #expect(error.code == .lengthExceedsRemaining)
        #expect(error.field == "chunk.transactions")
    }

    @Test func countsAndSizesPastLimitsAreRefused() throws {
        let chunk = Fixtures.chunk(transactions: [[1], [2], [3, 3, 3]]).encoded()
        let decodeChunk: Decode = { _ = try Chunk(decoding: $0, limits: $1) }
        var limits = DecodingLimits.default
        limits.maxTransactionsPerChunk = 2
        #expect(Self.codecError(chunk, decodeChunk, limits: limits)?.field == "chunk.transactions")
        #expect(Self.codecError(chunk, decodeChunk, limits: limits)?.code == .limitExceeded)
        limits = .default
        limits.maxTransactionBytes = 2
        #expect(Self.codecError(chunk, decodeChunk, limits: limits)?.field == "chunk.transactions[2]")
        limits = .default
        limits.maxChunkBytes = chunk.count - 1
        #expect(Self.codecError(chunk, decodeChunk, limits: limits)?.code == .limitExceeded)
        limits = .default
        limits.maxSignatureBytes = 63
        #expect(Self.codecError(chunk, decodeChunk, limits: limits)?.field == "chunk.signature")

        let block = Fixtures.block(certificates: [Self.certificate, Self.certificate]).encoded()
        limits = .default
        limits.maxCertificatesPerBlock = 1
        #expect(
            Self.codecError(block, { _ = try Block(decoding: $0, limits: $1) }, limits: limits)?.field
                == "block.certificates")
        limits = .default
        limits.maxValidators = 2
        let error = Self.codecError(block, { _ = try Block(decoding: $0, limits: $1) }, limits: limits)
        #expect(error?.field == "block.certificates[0].signers")
        #expect(error?.code == .limitExceeded)
    }

    /// Offset of the signer bit set's length in a certificate: version, reference body, epoch.
    static let signersLength = 1 + ChunkReference.bodyByteCount + 8

    @Test func nonCanonicalSignerBitSetsAreRefused() throws {
        let decode: Decode = { _ = try ChunkCertificate(decoding: $0, limits: $1) }
        let bytes = Self.certificate.encoded()
        let head = Array(bytes[0..<Self.signersLength])
        #expect(Array(bytes[Self.signersLength..<Self.signersLength + 4]) == [0, 0, 0, 1])
        let bits = bytes[Self.signersLength + 4]
        let signatures = Array(bytes[(Self.signersLength + 5)...])

        // A trailing zero byte: the same signers, not minimal.
        let padded = head + [0, 0, 0, 2, bits, 0] + signatures
        let error = try #require(Self.codecError(padded, decode))
        #expect(error.code == .nonCanonical)
        #expect(error.field == "chunkCertificate.signers")

        // No signers at all.
        let empty = head + [0, 0, 0, 0]
        #expect(Self.codecError(empty, decode)?.code == .nonCanonical)

        // Bits beyond the validator set decode, but do not verify.
        let beyond = head + [0, 0, 0, 1, bits | 0x80] + signatures + signatures[0..<68]
        let certificate = try ChunkCertificate(decoding: beyond)
        #expect(throws: CertificateError.self) {
            try certificate.verify(
                against: Fixtures.validatorSet(Self.all), rules: Fixtures.rules, domain: Fixtures.domain)
        }
    }

    @Test func identifiersAreNotSkippedOnShortInput() {
        #expect(
            Self.codecError([1] + [UInt8](repeating: 0, count: 19)) {
                _ = try ChunkReference(decoding: $0, limits: $1)
            }?.field == "chunkReference.chunkID")
        #expect(Self.codecError([]) { _ = try Chunk(decoding: $0, limits: $1) }?.field == "chunk.version")
    }
}
