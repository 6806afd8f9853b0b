import DSMRDevnet
import DSMRTestSupport
import Foundation
import Testing

/// The ordering driver asks what executed every 20 ms, apart from its
/// rounds, so the load learns of an executed transfer as soon as a validator
/// executed it, not at the next round.
@Suite("The driver's collection of what executed")
struct DriverCollectionTests {
    @Test func transfersAreSeenExecutedBeforeTheNextRoundStarts() async throws {
        let scratch = try scratchDirectory("collection")
        defer { scratch.remove() }
        var options = try devnetOptions(scratch.path, validators: 1, load: .seconds(9), rate: 20)
        // Rounds far apart: a transfer waits up to an interval for its block,
        // then executes within milliseconds. Seen only at the next round, no
        // transfer would take less than an interval from submission; seen
        // within 20 ms of execution, the median takes about half of one.
        let interval = Duration.seconds(3)
        options.blockInterval = interval
        let summary = try await withDevnet(options) { devnet in try await devnet.runLoad { _ in } }

        #expect(summary.rootsAgree, "\(summary)")
        #expect(summary.executed >= 100 && summary.lost == 0, "\(summary)")
        let median = try #require(summary.p50Milliseconds, "\(summary)")
        #expect(
            median < Double(interval.components.seconds * 1_000),
            "the median transfer was seen executed \(median) ms after submission, not within a round of \(interval)")
    }
}
