import DSMR
import DSMRDevnet
import DSMRTestSupport
import DemoVM
import Foundation
import Testing

/// One Byzantine validator of four (`dsmr-byzantine`, a real validator
/// process with its own key that misbehaves as `DSMR_BYZANTINE` says) in a
/// devnet of real processes under load: the three honest validators keep
/// certifying, ordering and executing. For every behaviour, every transfer
/// routed to an honest validator executes within ``slowestAllowed``, the
/// honest validators' state roots agree, and no honest validator's memory
/// passes ``memoryBound``.
///
/// Six devnets of real processes: run only with `DSMR_BYZANTINE_TESTS` set
/// (`.ci/run` runs this suite on its own after the others, so the other
/// suites' load does not decide its latency bound).
@Suite(
    "Byzantine peers", .serialized,
    .enabled(if: ProcessInfo.processInfo.environment["DSMR_BYZANTINE_TESTS"] != nil))
struct ByzantinePeerTests {
    /// The longest a transfer routed to an honest validator may take from submission to execution.
    static let slowestAllowed = 15_000.0
    /// The most resident memory an honest validator's process may reach (a
    /// debug build runs at about 40 MiB).
    static let memoryBound: UInt64 = 256 << 20

    static let behaviours = ["answer-others", "withhold", "invalid-signatures", "far-future", "flood", "equivocate"]

    @Test(arguments: behaviours)
    func threeHonestValidatorsExecuteEveryTransferRoutedToThem(behaviour: String) async throws {
        let scratch = try scratchDirectory("byzantine")
        defer { if ProcessInfo.processInfo.environment["DSMR_KEEP_DEVNET"] == nil { scratch.remove() } }
        var options = try devnetOptions(scratch.path, load: .seconds(4), rate: 200)
        options.overrides[3] = NodeOverride(
            executable: try builtExecutable("dsmr-byzantine"), environment: ["DSMR_BYZANTINE": behaviour])
        let summary = try await withDevnet(options) { devnet in try await devnet.runLoad { _ in } }

        let honest = summary.nodes.filter { $0.index != 3 }
        #expect(honest.count == 3)
        for node in honest {
            #expect(node.routed.submitted > 0, "node\(node.index) was sent transfers")
            #expect(
                node.routed.executed == node.routed.submitted && node.routed.lost == 0,
                "\(behaviour): every transfer routed to honest node\(node.index) executed: \(node.routed)")
            #expect(
                node.routed.slowestMilliseconds <= Self.slowestAllowed,
                "\(behaviour): node\(node.index)'s slowest transfer took \(node.routed.slowestMilliseconds) ms")
            #expect(
                node.chunksCertified * 10 >= node.chunksBuilt * 9,
                "\(behaviour): node\(node.index) had \(node.chunksCertified) of its \(node.chunksBuilt) chunks certified"
            )
            let memory = try #require(node.peakResidentBytes, "node\(node.index)'s memory is readable")
            #expect(
                memory <= Self.memoryBound,
                "\(behaviour): node\(node.index) reached \(memory >> 20) MiB (bound \(Self.memoryBound >> 20) MiB)")
        }
        let roots = Set(honest.map(\.stateRoot))
        #expect(roots.count == 1 && roots.first! != nil, "\(behaviour): the honest roots agree: \(honest)")
        #expect(honest.allSatisfy { $0.executedHeight >= summary.commonHeight && summary.commonHeight > 0 })
    }
}
