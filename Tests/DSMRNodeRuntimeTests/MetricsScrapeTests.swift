import DSMRDevnet
import DSMRNodeRuntime
import Testing

/// A real `dsmr-node` process's Prometheus endpoint, read by a plain TCP client.
@Suite("dsmr-node's metrics endpoint")
struct MetricsScrapeTests {
    static let counters = [
        "dsmr_transactions_submitted_total", "dsmr_transactions_executed_total", "dsmr_chunks_built_total",
        "dsmr_chunks_certified_total", "dsmr_blocks_accepted_total",
    ]

    @Test func theCountersExistAndRiseWithTheLoad() async throws {
        try await withStartedDevnet(validators: 1, duration: .seconds(2), transactionRate: 100) { devnet in
            let address = devnet.metricsAddresses[0]
            let before = try await HTTPAnswer.fetch("/metrics", from: address)
            #expect(before.status == 200)
            for name in Self.counters { #expect(before.samples[name] != nil, "\(name) before the load") }

            let summary = try await devnet.runLoad { _ in }
            #expect(summary.executed > 0 && summary.pending == 0)
            let after = try await HTTPAnswer.fetch("/metrics", from: address)
            #expect(after.status == 200)
            for name in Self.counters {
                #expect(after.samples[name, default: 0] > before.samples[name, default: 0], "\(name) after the load")
            }
            // Every stage of a transaction's path was timed (one validator: its own chunks, its own blocks).
            for stage in LatencyStage.allCases {
                #expect(after.samples["\(stage.metric)_count", default: 0] > 0, "\(stage.metric) after the load")
            }
            #expect(after.samples["dsmr_transactions_executed_total"] == Double(summary.executed))
            #expect(after.samples["dsmr_executed_height"] == Double(summary.commonHeight))
            // Every family says what it counts (`promtool check metrics` asks for it).
            #expect(after.families.count >= 20, "\(after.families)")
            #expect(after.familiesWithoutHelp.isEmpty, "families without help: \(after.familiesWithoutHelp)")
        }
    }

    @Test func otherPathsAreNotFoundAndOtherMethodsNotAllowed() async throws {
        try await withStartedDevnet(validators: 1) { devnet in
            let address = devnet.metricsAddresses[0]
            for path in ["/", "/metric", "/metrics/", "/metricsx", "/../metrics"] {
                let answer = try await HTTPAnswer.fetch(path, from: address)
                #expect(answer.status == 404, "\(path)")
            }
            let withQuery = try await HTTPAnswer.fetch("/metrics?name=x", from: address)
            #expect(withQuery.status == 200)
            let posted = try await HTTPAnswer.fetch("/metrics", from: address, method: "POST")
            #expect(posted.status == 405)
        }
    }
}
