import DSMR
import DSMRNodeRuntime
import Testing

/// The ordering log's values: a block signed by its proposer, decoded
/// strictly, followed only when a validator signed it.
@Suite("Block attempts")
struct BlockAttemptTests {
    let proposer = Ed25519Signer.generate()
    let other = Ed25519Signer.generate()
    let domain = SigningDomain(networkID: 7, chainID: .zero)
    let block = Block(parent: .zero, height: 3, timestamp: 1_000, certificates: [])
    let limits = DecodingLimits.default
    var validators: [NodeID: [UInt8]] { [proposer.nodeID: proposer.publicKey, other.nodeID: other.publicKey] }

    func decoded(_ bytes: [UInt8]) throws -> BlockAttempt {
        try BlockAttempt(decoding: bytes, maxBlockBytes: limits.maxBlockBytes)
    }

    @Test func aSignedBlockRoundTripsAndVerifies() throws {
        let attempt = try BlockAttempt(signing: block, by: proposer, in: domain)
        let read = try decoded(attempt.encoded)
        #expect(read == attempt && read.proposer == proposer.nodeID && read.blockID == block.id)
        #expect(try read.verifiedBlock(validators: validators, domain: domain, limits: limits) == block)
    }

    @Test func malformedBytesAreRefusedNamingWhatIsWrong() throws {
        let good = try BlockAttempt(signing: block, by: proposer, in: domain).encoded
        func reason(_ bytes: [UInt8], maxBlockBytes: Int = DecodingLimits.default.maxBlockBytes) -> String? {
            do {
                _ = try BlockAttempt(decoding: bytes, maxBlockBytes: maxBlockBytes)
                return nil
            } catch {
                guard case .malformed(let what) = error else { return "not malformed: \(error)" }
                return what
            }
        }
        #expect(reason([])?.contains("shorter than its header") == true)
        #expect(reason(Array(good.prefix(BlockAttempt.headerByteCount)))?.contains("shorter") == true)
        #expect(reason([2] + good.dropFirst())?.contains("version 2") == true)
        #expect(reason(good, maxBlockBytes: 8)?.contains("passes the 8 allowed") == true)
        // A bare block, as a credential holder without a key could write, is no attempt.
        #expect(reason(block.encoded()) != nil)
    }

    @Test func onlyAValidatorsOwnSignatureOverTheBlockIsFollowed() throws {
        let attempt = try BlockAttempt(signing: block, by: proposer, in: domain)
        func error(
            _ attempt: BlockAttempt, _ validators: [NodeID: [UInt8]], _ domain: SigningDomain
        ) -> BlockAttemptError? {
            do {
                _ = try attempt.verifiedBlock(validators: validators, domain: domain, limits: limits)
                return nil
            } catch {
                return error
            }
        }
        // A key outside the set.
        let outsider = try BlockAttempt(signing: block, by: Ed25519Signer.generate(), in: domain)
        guard case .unknownProposer? = error(outsider, validators, domain) else {
            Issue.record("an outsider's attempt was followed")
            return
        }
        // Another chain's signature.
        #expect(
            error(attempt, validators, SigningDomain(networkID: 8, chainID: .zero)) == .badSignature(proposer.nodeID))
        // Another validator's signature under the proposer's name.
        var bytes = try BlockAttempt(signing: block, by: other, in: domain).encoded
        bytes.replaceSubrange(1...NodeID.byteCount, with: proposer.nodeID.bytes)
        #expect(error(try decoded(bytes), validators, domain) == .badSignature(proposer.nodeID))
        // One bit of the block changed after signing.
        bytes = attempt.encoded
        bytes[bytes.count - 1] ^= 1
        #expect(error(try decoded(bytes), validators, domain) == .badSignature(proposer.nodeID))
        #expect(error(attempt, validators, domain) == nil)
    }

    @Test func signedBytesThatAreNoBlockAreEvidenceAgainstTheSigner() throws {
        let garbage = try BlockAttempt(signingBytes: [1, 2, 3, 4, 5], by: proposer, in: domain)
        do {
            _ = try decoded(garbage.encoded).verifiedBlock(validators: validators, domain: domain, limits: limits)
            Issue.record("signed garbage decoded as a block")
        } catch {
            #expect((error as? BlockAttemptError)?.signedBy == proposer.nodeID, "\(error)")
        }
        // An unsigned failure names no one.
        #expect(BlockAttemptError.badSignature(proposer.nodeID).signedBy == nil)
    }
}
