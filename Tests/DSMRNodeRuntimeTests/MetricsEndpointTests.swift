import DSMRNodeRuntime
import DSMRTestSupport
import Prometheus
import Synchronization
import Testing

/// The metrics endpoint is reachable by anyone who can reach its address:
/// connections that never ask cannot pile up in the node.
@Suite("Metrics endpoint under hostile clients")
struct MetricsEndpointTests {
    @Test func silentConnectionsPastTheBoundsMakeRoomAndAScrapeIsServedWhileTheyStay() async throws {
        let endpoint = try await MetricsEndpoint(
            registry: PrometheusCollectorRegistry(), host: "127.0.0.1", port: 0, maxConnections: 8, maxPerSource: 4,
            requestTimeout: .seconds(600))
        // Silent connections from five source addresses: each address keeps
        // at most 4, and the endpoint at most 8 in all.
        var idle: [RawStreamClient] = []
        for source in 1...5 {
            for _ in 0..<6 {
                idle.append(try await RawStreamClient.connect(from: "127.0.0.\(source)", port: endpoint.port))
            }
        }
        #expect(await eventually(within: .seconds(10)) { idle.filter(\.channel.isActive).count == 8 })
        // Each address's newest four made room, first in their own address, then over all.
        let active = idle.indices.filter { idle[$0].channel.isActive }
        #expect(active == [20, 21, 22, 23, 26, 27, 28, 29], "the newest stay; the oldest made room")
        // While they stay open, a scrape from any address is served at once.
        let scrape = try await HTTPAnswer.fetch("/metrics", from: "127.0.0.1:\(endpoint.port)")
        #expect(scrape.status == 200)
        for client in idle { await client.close() }
        await endpoint.close()
    }

    @Test func bytesThatAreNotHTTPAreAnsweredBadRequestAndClosed() async throws {
        // A deadline far away: the close must come from the refusal itself.
        let endpoint = try await MetricsEndpoint(
            registry: PrometheusCollectorRegistry(), host: "127.0.0.1", port: 0, requestTimeout: .seconds(600))
        let client = try await RawStreamClient.connect(port: endpoint.port)
        // The start of a TLS hello, then filler and an empty line.
        let tlsHello: [UInt8] = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01]
        await client.send(tlsHello + [UInt8](repeating: 0xEE, count: 64) + Array("\r\n\r\n".utf8))
        #expect(await client.closedByPeer(within: .seconds(5)))
        #expect(String(decoding: client.received, as: UTF8.self).hasPrefix("HTTP/1.1 400"))
        await endpoint.close()
    }

    @Test func aConnectionThatSendsNoRequestIsClosedAfterTheTimeout() async throws {
        let endpoint = try await MetricsEndpoint(
            registry: PrometheusCollectorRegistry(), host: "127.0.0.1", port: 0, requestTimeout: .milliseconds(200))
        let silent = try await RawStreamClient.connect(port: endpoint.port)
        // Half a request head, then nothing.
        let halfHead = try await RawStreamClient.connect(port: endpoint.port)
        await halfHead.send(Array("GET /metrics HTTP/1.1\r\n".utf8))
        #expect(await silent.closedByPeer(within: .seconds(10)))
        #expect(await halfHead.closedByPeer(within: .seconds(10)))
        #expect(halfHead.received.isEmpty)
        await endpoint.close()
    }

    @Test func healthIsServedOKWhileHealthyAnd503WithItsCauseOtherwise() async throws {
        let current = Mutex(NodeHealth.healthy)
        let endpoint = try await MetricsEndpoint(
            registry: PrometheusCollectorRegistry(), host: "127.0.0.1", port: 0, health: { current.withLock { $0 } })
        let address = "127.0.0.1:\(endpoint.port)"
        let healthy = try await HTTPAnswer.fetch("/health", from: address)
        #expect(healthy.status == 200 && healthy.body == "healthy\n")
        current.withLock { $0 = NodeHealth(condition: .failing, cause: "store: no space left") }
        let failing = try await HTTPAnswer.fetch("/health", from: address)
        #expect(failing.status == 503 && failing.body == "failing: store: no space left\n", "\(failing)")
        #expect(try await HTTPAnswer.fetch("/metrics", from: address).status == 200)
        await endpoint.close()
        // Without a health source there is no health path.
        let plain = try await MetricsEndpoint(registry: PrometheusCollectorRegistry(), host: "127.0.0.1", port: 0)
        #expect(try await HTTPAnswer.fetch("/health", from: "127.0.0.1:\(plain.port)").status == 404)
        await plain.close()
    }
}
