import DSMR
import DSMRNetwork
import DSMRNode
import DSMRTestSupport
import Testing

/// An answer completes only a request sent on the connection it came on:
/// a validator answering ids it saw elsewhere completes nothing and loses
/// its connection, while a slow validator's late answers are only dropped.
@Suite("Requests matched per connection")
struct RequestMatchingTests {
    @Test func anAnswerToAnotherConnectionsRequestCompletesNothingAndClosesItsSender() async throws {
        let honest = try await startTransports([Keys.signers[0], Keys.signers[3]])
        let asker = honest[0]
        honest[1].register(RecordingHandler())
        let slow = try await ScriptedListener(Keys.signers[1])
        let liar = try await ScriptedListener(Keys.signers[2])
        let slowID = Keys.signers[1].nodeID
        let liarID = Keys.signers[2].nodeID
        asker.setAddress(host: "127.0.0.1", port: slow.port, of: slowID)
        asker.setAddress(host: "127.0.0.1", port: liar.port, of: liarID)

        let toSlow = Task { try await asker.request([1], to: slowID, timeout: .seconds(30)) }
        let b = try #require(await slow.authenticatedPeer())
        #expect(await eventually { b.requestIDs.count == 1 })
        let stolen = try #require(b.requestIDs.first)
        let toLiar = Task { await requestError(asker, [2], to: liarID, timeout: .seconds(30)) }
        let c = try #require(await liar.authenticatedPeer())
        #expect(await eventually { c.requestIDs.count == 1 })

        // The liar answers the id the slow validator was sent.
        try await c.send([.response(id: stolen, payload: [0xEE])])
        #expect(await c.closedByPeer(within: .seconds(10)), "an unsolicited answer closes its connection")
        #expect(await toLiar.value?.code == .unreachable, "the liar's own request fails with its connection")
        // The slow validator's request still waits for its own answer.
        try await b.send([.response(id: stolen, payload: [0xBB])])
        #expect(try await toSlow.value == [0xBB])
        // Honest requests complete.
        #expect(try await asker.request([3], to: honest[1].local, timeout: .seconds(30)) == [0xAA, 3])

        #expect(asker.statistics.unsolicitedAnswers == 1)
        let offender = asker.peerStatistics()[liarID]
        #expect(offender?.unsolicitedAnswers == 1 && offender?.disconnects == 1, "\(String(describing: offender))")
        #expect(asker.peerStatistics()[slowID]?.disconnects ?? 0 == 0)
        await slow.close()
        await liar.close()
        await shutdownAll(honest)
    }

    @Test func anAnswerAfterItsTimeoutIsDroppedWithoutClosingTheConnection() async throws {
        let asker = try await startTransports([Keys.signers[0]])[0]
        let slow = try await ScriptedListener(Keys.signers[1])
        let slowID = Keys.signers[1].nodeID
        asker.setAddress(host: "127.0.0.1", port: slow.port, of: slowID)

        #expect(await requestError(asker, [1], to: slowID, timeout: .milliseconds(200))?.code == .timeout)
        let b = try #require(await slow.authenticatedPeer())
        let late = try #require(b.requestIDs.first)
        try await b.send([.response(id: late, payload: [0xBB])])
        #expect(await eventually { asker.statistics.lateAnswers == 1 })

        // The same connection carries the next requests.
        let next = Task { try await asker.request([2], to: slowID, timeout: .seconds(30)) }
        #expect(await eventually { b.requestIDs.count == 2 })
        try await b.send([.response(id: b.requestIDs[1], payload: [0xBC])])
        #expect(try await next.value == [0xBC])
        #expect(b.channel.isActive && slow.peers.count == 1)
        let statistics = asker.peerStatistics()[slowID]
        #expect(statistics?.lateAnswers == 1 && statistics?.unsolicitedAnswers == 0 && statistics?.disconnects == 0)

        // Ids are random, not a counter another peer could follow.
        for n in 3..<6 {
            let request = Task { try await asker.request([UInt8(n)], to: slowID, timeout: .seconds(30)) }
            #expect(await eventually { b.requestIDs.count == n })
            try await b.send([.response(id: b.requestIDs[n - 1], payload: [UInt8(n)])])
            #expect(try await request.value == [UInt8(n)])
        }
        let ids = b.requestIDs
        #expect(Set(ids).count == ids.count && ids.contains { $0 > UInt64(UInt32.max) }, "\(ids)")
        await slow.close()
        await shutdownAll([asker])
    }
}
