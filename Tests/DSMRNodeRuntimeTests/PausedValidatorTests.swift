import DSMRDevnet
import DSMRTestSupport
import DemoVM
import Foundation
import Synchronization
import Testing

/// One validator of four stopped with SIGSTOP under load (a paused process:
/// its sockets stay open, nothing answers): the other three keep executing
/// at least 80% of the rate before the pause, under either ordering, and
/// the paused one catches up after SIGCONT, its state root agreeing.
///
/// Two devnets of real processes for about a minute each: run only with
/// `DSMR_FAULT_TESTS` set (`.ci/run` runs the fault suites on their own,
/// after the others). `DSMR_PAUSE_SECONDS` sets the pause (30 s by default).
@Suite(
    "A paused validator", .serialized,
    .enabled(if: ProcessInfo.processInfo.environment["DSMR_FAULT_TESTS"] != nil))
struct PausedValidatorTests {
    static let pause = Duration.seconds(Int(ProcessInfo.processInfo.environment["DSMR_PAUSE_SECONDS"] ?? "") ?? 30)

    /// What a run has executed at a moment.
    struct Sample {
        let at: ContinuousClock.Instant
        let executed: Int
    }

    /// The samples a run's reports leave.
    final class Samples: Sendable {
        let list = Mutex<[Sample]>([])
    }

    /// Executed transfers per second between the samples nearest `from` and `to`.
    static func rate(_ samples: [Sample], from: ContinuousClock.Instant, to: ContinuousClock.Instant) -> Double {
        let first = samples.last { $0.at <= from } ?? samples.first { $0.at >= from }
        let last = samples.last { $0.at <= to }
        guard let first, let last, last.at > first.at else { return 0 }
        let span = (last.at - first.at).components
        return Double(last.executed - first.executed) / (Double(span.seconds) + Double(span.attoseconds) / 1e18)
    }

    @Test(arguments: [DevnetOrdering.driver, .etcd])
    func theOthersKeepTheirRateWhileOneIsPausedAndItCatchesUpAfter(ordering: DevnetOrdering) async throws {
        let scratch = try scratchDirectory("paused")
        defer { if ProcessInfo.processInfo.environment["DSMR_KEEP_DEVNET"] == nil { scratch.remove() } }
        var options = try devnetOptions(scratch.path, load: nil, rate: 150)
        options.ordering = ordering
        options.drainTimeout = .seconds(60)
        let paused = 2
        let warmUp = Duration.seconds(4)
        let before = Duration.seconds(8)
        // The devnet sees the stopped process at once; what was in flight to it settles first.
        let settle = Duration.seconds(5)
        let after = Duration.seconds(10)
        let samples = Samples()

        let (summary, window) = try await withDevnet(options) { devnet in
            let load = Task {
                try await devnet.runLoad(duration: warmUp + before + Self.pause + after) { progress in
                    samples.list.withLock { $0.append(Sample(at: .now, executed: progress.executed)) }
                }
            }
            try await Task.sleep(for: warmUp + before)
            let process = try #require(devnet.process(paused))
            let pausedAt = ContinuousClock.now
            process.signal(SIGSTOP)
            #expect(await eventually(within: .seconds(5)) { devnet.silentValidators == [paused] })
            try await Task.sleep(until: pausedAt + Self.pause)
            let resumedAt = ContinuousClock.now
            let heightAtResume = try await statuses(devnet.layout, [0]).values.first!.acceptedHeight
            process.signal(SIGCONT)
            return (try await load.value, (pausedAt, resumedAt, heightAtResume))
        }
        let (pausedAt, resumedAt, heightAtResume) = window
        let recorded = samples.list.withLock { $0 }
        let rateBefore = Self.rate(recorded, from: pausedAt - before, to: pausedAt)
        let rateDuring = Self.rate(recorded, from: pausedAt + settle, to: resumedAt)
        // Executed per second in 2.5 s steps from the window before the pause to the end, for the record.
        let timeline = stride(from: -8.0, to: Double((resumedAt - pausedAt + after).components.seconds), by: 2.5).map {
            start in
            let from = pausedAt + .milliseconds(Int(start * 1_000))
            return String(Int(Self.rate(recorded, from: from, to: from + .milliseconds(2_500))))
        }
        print(
            "\(ordering): \(Int(rateBefore)) tx/s executed before the pause, \(Int(rateDuring)) tx/s during it; "
                + "validator \(paused) resumed at height \(heightAtResume); tx/s every 2.5 s from 8 s before: "
                + timeline.joined(separator: " "))
        #expect(rateBefore > 50, "\(ordering): the load executed before the pause (\(rateBefore) tx/s)")
        #expect(
            rateDuring >= 0.8 * rateBefore,
            "\(ordering): \(rateDuring) tx/s while validator \(paused) was paused, \(rateBefore) tx/s before")

        for node in summary.nodes where node.index != paused {
            #expect(
                node.routed.executed == node.routed.submitted && node.routed.lost == 0,
                "\(ordering): every transfer routed to node\(node.index) executed: \(node.routed)")
        }
        let resumed = try #require(summary.nodes.first { $0.index == paused })
        #expect(
            resumed.executedHeight > heightAtResume,
            "\(ordering): the paused validator executed past height \(heightAtResume), the chain's at its resumption")
        #expect(summary.rootsAgree, "\(ordering): the four state roots agree: \(summary.nodes)")
    }
}
