import DSMR
import DSMRNetwork
import DSMRNode
import DSMRTestSupport
import Synchronization
import Testing

/// A peer that does not read what it asked for costs at most the
/// connection's backlog cap, then its connection; other peers are served.
@Suite("Replies that do not drain")
struct OutboundBacklogTests {
    /// Answers `[0xBB]` and `[0xBD]` with 256 KiB (`[0xBD]` once the gate
    /// opens), `[0xCC]` with 4 KiB, anything else with `0xAA || request`.
    final class BulkReplyHandler: MessageHandler {
        static let bulk = 256 << 10
        static let small = 4 << 10
        let gate = Gate()
        let held = Mutex(0)

        func handleRequest(_ request: [UInt8], from peer: NodeID) async -> [UInt8] {
            switch request {
            case [0xBD]:
                held.withLock { $0 += 1 }
                await gate.wait()
                return [UInt8](repeating: 0xBD, count: Self.bulk)
            case [0xBB]: return [UInt8](repeating: 0xBB, count: Self.bulk)
            case [0xCC]: return [UInt8](repeating: 0xCC, count: Self.small)
            default: return [0xAA] + request
            }
        }

        func handleGossip(_ message: [UInt8], from peer: NodeID) async {}
    }

    @Test func aPeerThatFloodsRequestsAndNeverReadsIsCutOffAtTheCapWhileOthersAreServed() async throws {
        let cap = 1 << 20
        let servers = try await startTransports(Array(Keys.signers.prefix(3))) { $0.maxOutboundBacklogBytes = cap }
        let handler = BulkReplyHandler()
        servers[0].register(handler)
        let flooder = try await ScriptedPeer.dial(Keys.signers[1], port: servers[0].port, reading: false)
        #expect(await flooder.authenticates())

        // A thousand cheap requests, each asking 256 KiB back: 250 MiB the
        // flooder never reads. The handler holds the 64 it admits (the rest
        // are answered overloaded), then answers them all at once: 16 MiB.
        let flood = (0..<1_000).map { Frame.request(id: UInt64($0), payload: [0xBD]) }
        try? await flooder.send(flood)
        #expect(await eventually { handler.held.withLock { $0 } == 64 })
        handler.gate.open()
        let honest = Task { try await servers[2].request([0xBB], to: servers[0].local, timeout: .seconds(30)) }
        #expect(
            await eventually { servers[0].statistics.backlogOverflows == 1 }, "\(servers[0].statistics)")
        #expect(try await honest.value.count == BulkReplyHandler.bulk, "another validator is served meanwhile")
        // Reading again, the flooder finds what the socket took, then the close.
        try await flooder.startReading()
        #expect(await flooder.closedByPeer(within: .seconds(20)), "the flooder is disconnected")

        let statistics = servers[0].statistics
        #expect(statistics.backlogOverflows == 1)
        #expect(statistics.largestOutboundBacklog <= cap, "\(statistics.largestOutboundBacklog) bytes waited")
        let offender = servers[0].peerStatistics()[Keys.signers[1].nodeID]
        #expect(offender?.backlogOverflows == 1 && offender?.disconnects == 1 && offender?.bans == 0)
        #expect(try await servers[2].request([7], to: servers[0].local, timeout: .seconds(30)) == [0xAA, 7])
        await shutdownAll(servers)
    }

    @Test func aPeerWhoseRepliesDoNotDrainIsNotReadAndHoldsNoCapacity() async throws {
        let servers = try await startTransports(Array(Keys.signers.prefix(3))) { $0.maxInFlightPerPeer = 8 }
        servers[0].register(BulkReplyHandler())
        let flooder = try await ScriptedPeer.dial(Keys.signers[1], port: servers[0].port, reading: false)
        #expect(await flooder.authenticates())

        // 50,000 cheap requests, each asking 4 KiB back: 200 MiB the flooder never reads.
        let count = 50_000
        flooder.post((0..<count).map { Frame.request(id: UInt64($0), payload: [0xCC]) })
        // The server stops reading it once its replies stop draining.
        var served = -1
        let settled = await eventually(within: .seconds(30), pollingEvery: .milliseconds(500)) {
            let now = servers[0].statistics.requestsServed + servers[0].statistics.overloadedReplies
            defer { served = now }
            return now == served && now > 0
        }
        let statistics = servers[0].statistics
        #expect(settled && served < count / 4, "\(served) of \(count) requests read: \(statistics)")
        #expect(statistics.backlogOverflows == 0 && statistics.largestOutboundBacklog < 1 << 20, "\(statistics)")
        #expect(flooder.channel.isActive)

        // Its stalled replies hold none of its capacity: the same validator,
        // from a second process, is served, not answered overloaded.
        var configuration = servers[1].configuration
        configuration.port = 0
        let twin = try await TCPTransport(configuration)
        twin.setAddress(host: "127.0.0.1", port: servers[0].port, of: servers[0].local)
        for n in 0..<16 {
            #expect(
                try await twin.request([UInt8(n)], to: servers[0].local, timeout: .seconds(30)) == [0xAA, UInt8(n)])
        }
        #expect(try await servers[2].request([7], to: servers[0].local, timeout: .seconds(30)) == [0xAA, 7])
        await flooder.close()
        await shutdownAll(servers + [twin])
    }
}
