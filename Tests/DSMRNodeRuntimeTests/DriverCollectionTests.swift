import DSMRDevnet
import DSMRTestSupport
import Foundation
import Testing

/// The ordering driver asks what executed every 20 ms, apart from its
/// rounds, so the load learns of an executed transfer as soon as a validator
/// executed it, not at the next round.
///
/// Run only with `DSMR_FAULT_TESTS` set (`.ci/run` runs it on its own, with
/// the fault suites): in the full parallel run of two cores even the fastest
/// transfer once took 5.4 s, every stage slowed past the bound this checks.
@Suite(
    "The driver's collection of what executed",
    .enabled(if: ProcessInfo.processInfo.environment["DSMR_FAULT_TESTS"] != nil))
struct DriverCollectionTests {
    @Test func transfersAreSeenExecutedBeforeTheNextRoundStarts() async throws {
        let scratch = try scratchDirectory("collection")
        defer { scratch.remove() }
        var options = try devnetOptions(scratch.path, validators: 1, load: .seconds(12), rate: 20)
        // Rounds far apart. A transfer's block is built at a round after it
        // was submitted; seen executed only at the round after that, no
        // transfer could take less than an interval, however fast the
        // machine. Seen within 20 ms of execution, one submitted just before
        // a round takes only its chunk's build, certification and execution.
        let interval = Duration.seconds(5)
        options.blockInterval = interval
        let summary = try await withDevnet(options) { devnet in try await devnet.runLoad { _ in } }

        #expect(summary.rootsAgree, "\(summary)")
        #expect(summary.executed >= 100 && summary.lost == 0, "\(summary)")
        let fastest = try #require(summary.fastestMilliseconds, "\(summary)")
        #expect(
            fastest < Double(interval.components.seconds * 1_000),
            "the fastest transfer was seen executed \(fastest) ms after submission, not within a round of \(interval)")
    }
}
