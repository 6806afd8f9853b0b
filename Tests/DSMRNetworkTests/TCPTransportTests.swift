import DSMR
import DSMRNetwork
import DSMRNode
import DSMRTestSupport
import Testing

@Suite("TCP transport on 127.0.0.1")
struct TCPTransportTests {
    @Test func fourTransportsExchangeRequestsAndGossip() async throws {
        let transports = try await startTransports(Keys.signers)
        let handlers = transports.map { _ in RecordingHandler() }
        for (transport, handler) in zip(transports, handlers) { transport.register(handler) }
        for (i, a) in transports.enumerated() {
            for (j, b) in transports.enumerated() where i != j {
                let answer = try await a.request([UInt8(i), UInt8(j)], to: b.local, timeout: .seconds(30))
                #expect(answer == [0xAA, UInt8(i), UInt8(j)])
                await a.gossip([UInt8(i), UInt8(j), 7], to: b.local)
            }
        }
        #expect(await eventually { handlers.allSatisfy { $0.gossipCount == 3 } })
        for (j, handler) in handlers.enumerated() {
            let requests = handler.seen.withLock { $0.requests }
            #expect(requests.count == 3)
            for (peer, bytes) in requests { #expect(transports[Int(bytes[0])].local == peer && bytes[1] == UInt8(j)) }
            let gossip = handler.seen.withLock { $0.gossip }
            for (peer, bytes) in gossip { #expect(transports[Int(bytes[0])].local == peer) }
        }
        await shutdownAll(transports)
    }

    @Test func manyConcurrentRequestsEachGetTheirOwnAnswer() async throws {
        let transports = try await startTransports(Array(Keys.signers.prefix(2)))
        transports[1].register(RecordingHandler())
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<40 {
                group.addTask {
                    let request: [UInt8] = [UInt8(n), UInt8(n ^ 0x55)]
                    let answer = try await transports[0].request(
                        request, to: transports[1].local, timeout: .seconds(30))
                    #expect(answer == [0xAA] + request)
                }
            }
            try await group.waitForAll()
        }
        await shutdownAll(transports)
    }

    @Test func aRequestWithoutAnswerTimesOut() async throws {
        let transports = try await startTransports(Array(Keys.signers.prefix(2)))
        let handler = RecordingHandler()
        transports[1].register(handler)
        let error = await requestError(transports[0], [0xFF], to: transports[1].local, timeout: .milliseconds(100))
        #expect(error?.code == .timeout)
        handler.release()
        await shutdownAll(transports)
    }

    @Test func anUnknownOrDownPeerIsUnreachable() async throws {
        let transports = try await startTransports(Array(Keys.signers.prefix(2)))
        let unknown = await requestError(transports[0], [1], to: Keys.signers[2].nodeID)
        #expect(unknown?.code == .unreachable && unknown?.peer == Keys.signers[2].nodeID)
        await transports[1].shutdown()
        #expect(await requestError(transports[0], [1], to: transports[1].local)?.code == .unreachable)
        await transports[0].shutdown()
    }

    @Test func aRestartedPeerIsDialedAgainAfterTheBackoff() async throws {
        let transports = try await startTransports(Array(Keys.signers.prefix(2))) {
            $0.reconnectBackoff = .milliseconds(20)
        }
        transports[1].register(RecordingHandler())
        #expect(try await transports[0].request([1], to: transports[1].local, timeout: .seconds(30)) == [0xAA, 1])
        let port = transports[1].port
        await transports[1].shutdown()
        var configuration = transports[1].configuration
        configuration.port = port
        let restarted = try await TCPTransport(configuration)
        restarted.register(RecordingHandler())
        let answered = await eventually {
            (try? await transports[0].request([2], to: restarted.local, timeout: .seconds(1))) == [0xAA, 2]
        }
        #expect(answered)
        await shutdownAll([transports[0], restarted])
    }

    @Test func shutdownClosesAtItsDeadlineWhenAHandlerNeverReturns() async throws {
        let transports = try await startTransports(Array(Keys.signers.prefix(2)))
        let handler = RecordingHandler()
        transports[1].register(handler)
        let held = Task { await requestError(transports[0], [0xFF], to: transports[1].local, timeout: .seconds(30)) }
        #expect(await eventually { handler.heldCount == 1 })
        await transports[1].shutdown(within: .milliseconds(100))
        // The connection closed under the waiting request: it fails at once, not at its timeout.
        #expect(await held.value?.code == .unreachable)
        handler.release()
        await transports[0].shutdown()
    }
}
