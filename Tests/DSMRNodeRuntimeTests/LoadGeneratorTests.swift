import DSMR
import DSMRNode
import DSMRTestSupport
import DemoVM
import Testing

@testable import DSMRDevnet
import DSMRNodeRuntime

@Suite("Load generator")
struct LoadGeneratorTests {
    let domain = SigningDomain(networkID: 7, chainID: try! ChainID(bytes: [UInt8](repeating: 7, count: 32)))

    func generator() throws -> (LoadGenerator, TransferSource) {
        let accounts = (0..<5).map { TestKeys.signer(UInt8(10 + $0)) }
        let validators = (0..<2).map { TestKeys.signer(UInt8(200 + $0)) }
        let set = try ValidatorSet(
            epoch: 0, validators: validators.map { Validator(publicKey: $0.publicKey, weight: 1) })
        let source = TransferSource(accounts: accounts, domain: domain, lifetime: 1_000)
        return (LoadGenerator(source: source, validators: validators.map(\.nodeID), set: set), source)
    }

    func transfers(_ batches: [Int: [LoadTransaction]]) throws -> [Transfer] {
        try batches.values.flatMap { batch in try batch.map { try Transfer(decoding: $0.bytes) } }
    }

    @Test func transfersSignedAheadAreTheOnesMadeNextThenSigningGoesOn() throws {
        let (generator, _) = try generator()
        // Seven transfers over five senders: the first two senders get two each.
        generator.prepare(count: 7, expiry: 999_999)
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

    @Test func eachTransactionGoesToTheValidatorItsSponsorIsAssignedTo() throws {
        let (generator, _) = try generator()
        let batches = generator.make(count: 20, live: [0, 1], now: 5_000)
        for (node, batch) in batches {
            for transaction in batch { #expect(generator.assignment[transaction.lane] == node) }
        }
        // A validator that is down gets nothing, and its senders wait.
        let onlyZero = generator.make(count: 10, live: [0], now: 5_000)
        #expect(onlyZero.keys.allSatisfy { $0 == 0 })
        #expect(onlyZero.values.joined().count == (generator.assignment.contains(0) ? 10 : 0))
    }

    @Test func aSenderWhoseNextTransferExpiredLosesItAndEverythingAfterAndRestartsAtTheExecutedNonce() throws {
        let (generator, source) = try generator()
        let made = generator.make(count: 15, live: [0, 1], now: 5_000).values.flatMap { $0 }
        let lane = made[0].lane
        let mine = made.filter { $0.lane == lane }.sorted { $0.position < $1.position }
        #expect(mine.map(\.position) == [0, 1, 2])
        // Nonce 0 executed; nonce 1 expired (chain time past 6 000) without executing.
        generator.executed([mine[0].digest])
        let lost = source.resolve(pending: Array(mine[1...]), executed: [lane: 1], chainTime: 6_001)
        #expect(lost == Set(mine[1...].map(\.digest)))
        #expect(generator.forget(lost) == 2)
        #expect(source.nextNonces[lane] == 1)
        // Not yet expired: nothing is lost.
        let others = made.filter { $0.lane != lane }
        let otherLane = others[0].lane
        let theirs = others.filter { $0.lane == otherLane }
        #expect(source.resolve(pending: theirs, executed: [otherLane: 0], chainTime: 5_500).isEmpty)
    }

    @Test func abandonedTransfersGiveTheirNoncesBack() throws {
        let (generator, source) = try generator()
        _ = generator.make(count: 10, live: [0, 1], now: 5_000)
        #expect(source.nextNonces == [2, 2, 2, 2, 2])
        generator.abandonPending()
        #expect(generator.pendingCount == 0)
        #expect(generator.snapshot().lost == 10)
        #expect(source.nextNonces == [0, 0, 0, 0, 0])
    }
}
