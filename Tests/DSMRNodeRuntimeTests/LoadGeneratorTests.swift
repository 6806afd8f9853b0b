import DSMR
import DSMRTestSupport
import DemoVM
import Testing

@testable import DSMRDevnet
import DSMRNodeRuntime

@Suite("Load generator")
struct LoadGeneratorTests {
    let domain = SigningDomain(networkID: 7, chainID: try! ChainID(bytes: [UInt8](repeating: 7, count: 32)))

    func generator() throws -> LoadGenerator {
        let accounts = (0..<5).map { TestKeys.signer(UInt8(10 + $0)) }
        let validators = (0..<2).map { TestKeys.signer(UInt8(200 + $0)) }
        let set = try ValidatorSet(
            epoch: 0, validators: validators.map { Validator(publicKey: $0.publicKey, weight: 1) })
        return LoadGenerator(
            accounts: accounts, validators: validators.map(\.nodeID), set: set, domain: domain, lifetime: 1_000)
    }

    func transfers(_ batches: [Int: [(digest: [UInt8], bytes: [UInt8])]]) throws -> [Transfer] {
        try batches.values.flatMap { batch in try batch.map { try Transfer(decoding: $0.bytes) } }
    }

    @Test func transfersSignedAheadAreTheOnesMadeNextThenSigningGoesOn() throws {
        let generator = try generator()
        // Seven transfers over five senders: the first two senders get two each.
        generator.signAhead(count: 7, expiry: 999_999)
        let ahead = try transfers(generator.make(count: 7, live: [0, 1], now: 5_000))
        #expect(ahead.count == 7)
        #expect(ahead.allSatisfy { $0.expiry == 999_999 && $0.verifySignature(domain: domain) })
        let after = try transfers(generator.make(count: 5, live: [0, 1], now: 5_000))
        #expect(after.count == 5)
        #expect(after.allSatisfy { $0.expiry == 6_000 && $0.verifySignature(domain: domain) })
        // Every sender's nonces run 0, 1, ... without a gap or a repeat.
        let bySender = Dictionary(grouping: ahead + after, by: \.sender)
        #expect(bySender.count == 5)
        for (_, sent) in bySender { #expect(sent.map(\.nonce).sorted() == Array(0..<UInt64(sent.count))) }
        #expect(generator.pendingCount == 12)
    }
}
