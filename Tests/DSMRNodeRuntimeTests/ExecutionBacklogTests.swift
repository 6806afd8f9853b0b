@testable import DSMRNodeRuntime
import Testing

/// The execution lane's bookkeeping: one run queued at a time, and the
/// accept-and-execute stage timed per block.
@Suite("Execution backlog")
struct ExecutionBacklogTests {
    @Test func onlyTheFirstAcceptanceQueuesARunUntilThatRunStarts() {
        let backlog = ExecutionBacklog()
        let now = ContinuousClock.now
        #expect(backlog.accepted(height: 1, started: now))
        #expect(!backlog.accepted(height: 2, started: now), "a second run was queued while one waits to start")
        backlog.runStarting()
        #expect(backlog.accepted(height: 3, started: now), "a block accepted during a run was left without one")
    }

    @Test func executedBlocksReportTheirTimeOnceAndUnknownOnesNothing() {
        let backlog = ExecutionBacklog()
        let started = ContinuousClock.now - .milliseconds(40)
        _ = backlog.accepted(height: 7, started: started)
        let first = backlog.executed([7, 8])
        #expect(first.count == 1)
        #expect(first.allSatisfy { $0 >= .milliseconds(40) })
        #expect(backlog.executed([7]).isEmpty, "a block was timed twice")
    }

    @Test func atMostMaxTrackedAcceptancesAreTimedForgettingTheOldest() {
        let backlog = ExecutionBacklog()
        let now = ContinuousClock.now
        let count = UInt64(ExecutionBacklog.maxTracked + 10)
        for height in 1...count { _ = backlog.accepted(height: height, started: now) }
        #expect(backlog.executed(Array(1...10)).isEmpty, "the oldest were kept past the bound")
        #expect(backlog.executed(Array(11...count)).count == ExecutionBacklog.maxTracked)
    }
}
