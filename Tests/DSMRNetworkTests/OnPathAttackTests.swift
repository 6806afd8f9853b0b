import DSMR
import DSMRNetwork
import DSMRNode
import DSMRTestSupport
import Testing

/// An attacker on the path between two validators (a relay that forwards
/// their TCP bytes) can cut a connection, but not change, add or read what
/// it carries: a changed byte or an injected frame closes that connection
/// and nothing it carried is accepted, and no payload byte crosses the wire
/// in the clear.
@Suite("TLS against an on-path attacker")
struct OnPathAttackTests {
    /// Validator 1 listens behind a relay; validator 2 dials it through the relay.
    private func relayed(
        adjust: (inout TCPTransportConfiguration) -> Void = { _ in }
    ) async throws -> (servers: [TCPTransport], proxy: RelayProxy, handler: RecordingHandler) {
        let servers = try await startTransports(Array(Keys.signers.prefix(2)), adjust: adjust)
        let handler = RecordingHandler()
        servers[0].register(handler)
        let proxy = try await RelayProxy(to: servers[0].port)
        servers[1].setAddress(host: "127.0.0.1", port: proxy.port, of: servers[0].local)
        return (servers, proxy, handler)
    }

    @Test func aByteChangedOnTheWayClosesThatConnectionAndNothingItCarriedIsAccepted() async throws {
        let (servers, proxy, handler) = try await relayed()
        let target = servers[0].local
        #expect(try await servers[1].request([1], to: target, timeout: .seconds(30)) == [0xAA, 1])

        // A request changed on its way: the listener's TLS refuses the record and closes. The
        // flipped byte is the last of whatever the relay reads next: inside a record the request
        // fails at once; in a record's header (a read that ended there) TLS waits for the bytes
        // the changed length promises, so the request times out, and the failure comes with the
        // next bytes sent, which the polling below provides.
        let listenerFailures = servers[0].statistics.tlsFailures
        proxy.flipNext(.towardListener)
        let request = await requestError(servers[1], [2], to: target, timeout: .seconds(10))
        #expect([.unreachable, .timeout].contains(request?.code), "\(String(describing: request))")
        #expect(proxy.flipped == 1)
        #expect(
            await eventually {
                _ = try? await servers[1].request([5], to: target, timeout: .seconds(1))
                return servers[0].statistics.tlsFailures > listenerFailures
            })
        #expect(!handler.seen.withLock { $0.requests.map(\.1) }.contains([2]), "the changed request is not handled")

        // An answer changed on its way back: the dialer's TLS refuses it; no answer is delivered.
        let dialerFailures = servers[1].statistics.tlsFailures
        proxy.flipNext(.towardDialer)
        let answer = await requestError(servers[1], [3], to: target, timeout: .seconds(10))
        #expect([.unreachable, .timeout].contains(answer?.code), "\(String(describing: answer))")
        #expect(proxy.flipped == 2)
        #expect(
            await eventually {
                _ = try? await servers[1].request([6], to: target, timeout: .seconds(1))
                return servers[1].statistics.tlsFailures > dialerFailures
            })

        // Neither validator is charged for what the path did, and the next connection works.
        #expect((servers[0].peerStatistics()[servers[1].local]?.disconnects ?? 0) == 0)
        #expect((servers[1].peerStatistics()[target]?.disconnects ?? 0) == 0)
        #expect(
            await eventually {
                (try? await servers[1].request([4], to: target, timeout: .seconds(2))) == [0xAA, 4]
            })
        await proxy.close()
        await shutdownAll(servers)
    }

    @Test func aWellFormedFrameInjectedIntoTheStreamIsNotAccepted() async throws {
        let (servers, proxy, handler) = try await relayed()
        let target = servers[0].local
        #expect(try await servers[1].request([1], to: target, timeout: .seconds(30)) == [0xAA, 1])

        // While a request waits, an error reply is injected toward the dialer
        // (under the id of every request of this connection, had it guessed it).
        let held = Task { await requestError(servers[1], [0xFF, 1], to: target, timeout: .seconds(20)) }
        #expect(await eventually { handler.heldCount == 1 })
        let refusal = NodeMessage.error(ErrorReply(.conflicting, "injected")).encoded()
        let guesses = (0..<16).flatMap { Frame.response(id: UInt64($0), payload: refusal).encoded() }
        let dialerFailures = servers[1].statistics.tlsFailures
        try await proxy.inject(guesses, .towardDialer)
        let outcome = await held.value
        #expect(
            outcome?.code == .unreachable,
            "the request fails, not with the injected reply: \(String(describing: outcome))")
        #expect(await eventually { servers[1].statistics.tlsFailures > dialerFailures })

        // A request injected toward the listener on a fresh connection is never handled.
        #expect(
            await eventually {
                (try? await servers[1].request([2], to: target, timeout: .seconds(2))) == [0xAA, 2]
            })
        let listenerFailures = servers[0].statistics.tlsFailures
        try await proxy.inject(Frame.request(id: 7, payload: [9]).encoded(), .towardListener)
        #expect(await eventually { servers[0].statistics.tlsFailures > listenerFailures })
        handler.release()
        #expect(!handler.seen.withLock { $0.requests.contains { $0.1 == [9] } }, "the injected request is not handled")
        await proxy.close()
        await shutdownAll(servers)
    }

    /// 64 bytes no handshake or header would hold by chance.
    static let payload = Array("dsmr/tls-test: this payload must never cross the wire in the clear".utf8.prefix(64))

    @Test func noPayloadByteCrossesTheWireInTheClear() async throws {
        let (servers, proxy, _) = try await relayed()
        let answer = try await servers[1].request(Self.payload, to: servers[0].local, timeout: .seconds(30))
        #expect(answer == [0xAA] + Self.payload)
        #expect(proxy.forwarded.count > 2 * Self.payload.count, "the relay carried the exchange")
        #expect(!proxy.forwardedContains(Self.payload), "the payload is not on the wire")
        #expect(!proxy.forwardedContains(servers[1].local.bytes), "nor the dialer's node id")
        await proxy.close()
        await shutdownAll(servers)
    }

    @Test func withThePlaintextSwitchThePayloadIsOnTheWire() async throws {
        // The same exchange on plaintext links: what the test above looks for is there to find.
        let (servers, proxy, _) = try await relayed { $0.linkSecurity = .plaintextForMeasurementOnly }
        let answer = try await servers[1].request(Self.payload, to: servers[0].local, timeout: .seconds(30))
        #expect(answer == [0xAA] + Self.payload)
        #expect(proxy.forwardedContains(Self.payload))
        #expect(proxy.forwardedContains(servers[1].local.bytes))
        await proxy.close()
        await shutdownAll(servers)
    }
}
