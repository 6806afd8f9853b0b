import DSMR
import DSMRDevnet
import DSMRTestSupport
import Foundation
import Testing

/// A devnet whose every producer's first slots fail to certify (all four
/// validators start isolated: for 10 s from their first share request none
/// reaches a peer) still certifies, orders and executes afterwards. Isolated longer
/// than the block skew (5 s), the builders reach the latest slot a block on
/// the stalled chain could carry and fail it too; blocks without
/// certificates then move chain time, the next slots certify, and the
/// transfers of the failed chunks go back to the mempool and execute.
@Suite("A devnet whose first slots fail to certify")
struct FailedFirstSlotTests {
    @Test func everyProducersFirstSlotFailsAndTheDevnetStillExecutesEverything() async throws {
        let scratch = try scratchDirectory("isolated")
        defer { scratch.remove() }
        var options = try devnetOptions(scratch.path, load: .seconds(12), rate: 100)
        let isolated = NodeOverride(
            executable: try builtExecutable("dsmr-byzantine"),
            environment: ["DSMR_BYZANTINE": "isolated-start", "DSMR_ISOLATED_SECONDS": "10"])
        for index in 0..<4 { options.overrides[index] = isolated }
        let summary = try await withDevnet(options) { devnet in try await devnet.runLoad { _ in } }

        let failed = summary.nodes.filter { $0.chunksBuilt > $0.chunksCertified }
        #expect(!failed.isEmpty, "some producer's first chunks failed to certify: \(summary.nodes)")
        #expect(summary.nodes.allSatisfy { $0.chunksCertified > 0 }, "every producer certifies later: \(summary)")
        #expect(summary.submitted > 0 && summary.executed == summary.submitted, "\(summary)")
        #expect(summary.lost == 0 && summary.pending == 0, "\(summary)")
        #expect(summary.rootsAgree && summary.commonHeight > 0, "\(summary)")
    }
}
