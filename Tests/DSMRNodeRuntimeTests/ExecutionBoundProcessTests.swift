import DSMRDevnet
import DSMRTestSupport
import Foundation
import KeyValueMachine
import Testing

/// Ordering runs ahead of execution by at most one block: a validator
/// answers an ordered block once it is recorded, but takes the next one only
/// while fewer than two accepted blocks wait to execute.
@Suite("Ordering ahead of execution", .serialized)
struct ExecutionBoundProcessTests {
    /// Every block of the key-value machine waits 400 ms before it
    /// executes, while the driver orders a block every 125 ms: unbounded,
    /// the accepted height would run ever further ahead of the executed one.
    @Test func aValidatorWhoseStateMachineIsSlowAcceptsAtMostTwoBlocksPastItsExecutedOne() async throws {
        let scratch = try scratchDirectory("execution-bound")
        defer { scratch.remove() }
        var options = try OtherStateMachineProcessTests.options(scratch.path)
        options.duration = .seconds(4)
        options.drainTimeout = .seconds(60)
        for index in 0..<4 {
            options.overrides[index] = NodeOverride(
                executable: options.executable, environment: ["DSMR_TEST_EXECUTION_DELAY_MS": "400"])
        }
        let devnet = try Devnet(options)
        let watching = Task { () -> [Int: UInt64] in
            // The widest gap between accepted and executed height seen at each validator.
            var widest: [Int: UInt64] = [:]
            while !Task.isCancelled {
                for index in 0..<4 {
                    guard let status = await nodeStatus(devnet.layout.controlSocket(index)) else { continue }
                    let gap = status.acceptedHeight - min(status.executedHeight, status.acceptedHeight)
                    widest[index] = max(widest[index] ?? 0, gap)
                }
                try? await Task.sleep(for: .milliseconds(20))
            }
            return widest
        }
        let summary = try await devnet.run { _ in }
        watching.cancel()
        let widest = await watching.value

        #expect(summary.rootsAgree && summary.pending == 0, "\(summary)")
        #expect(summary.commonHeight >= 4, "the chain moved on: \(summary)")
        #expect(widest.count == 4, "every validator answered its status: \(widest)")
        #expect(widest.values.allSatisfy { $0 <= 2 }, "accepted ran more than two blocks past executed: \(widest)")
    }
}
