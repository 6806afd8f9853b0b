import DSMR
import DSMRNetwork
import DSMRNode
import DSMRTestSupport
import Testing

/// A validator out of budget for its offences is disconnected and refused
/// for its ban, then let back in.
@Suite("Peer bans")
struct PeerBanTests {
    @Test func aPeerOutOfBudgetIsRefusedForItsBanThenLetBackIn() async throws {
        // Long enough that a loaded machine still sees the refusals inside it.
        let ban = Duration.seconds(20)
        let servers = try await startTransports([Keys.signers[0], Keys.signers[2]]) {
            $0.offenceBudget = 0
            $0.initialBan = ban
        }
        let server = servers[0]
        server.register(RecordingHandler())
        let offenderID = Keys.signers[1].nodeID

        let offender = try await ScriptedPeer.dial(Keys.signers[1], port: server.port)
        #expect(await offender.authenticates())
        // A frame of an unknown kind. The ban starts after it is sent and before its close is seen.
        let sent = ContinuousClock.now
        try await offender.send(bytes: [0, 0, 0, 1, 0xEE])
        #expect(await offender.closedByPeer(within: .seconds(10)))
        let banned = ContinuousClock.now
        let statistics = server.peerStatistics()[offenderID]
        #expect(statistics?.bans == 1 && statistics?.malformedFrames == 1 && statistics?.disconnects == 1)
        #expect(statistics?.banRemaining != nil, "\(String(describing: statistics))")

        // While banned: its handshake is refused, and it is not dialed.
        let refusedBefore = server.statistics.handshakesRefused
        let again = try await ScriptedPeer.dial(Keys.signers[1], port: server.port)
        #expect(await again.closedByPeer(within: .seconds(3)))
        #expect(!again.authenticated)
        #expect(ContinuousClock.now - banned < ban, "the refusal came within the ban")
        #expect(server.statistics.handshakesRefused == refusedBefore + 1)
        server.setAddress(host: "127.0.0.1", port: servers[1].port, of: offenderID)
        let dial = await requestError(server, [1], to: offenderID)
        #expect(dial?.code == .unreachable && dial?.message.contains("banned") == true, "\(String(describing: dial))")
        // Other validators are served.
        #expect(try await servers[1].request([5], to: server.local, timeout: .seconds(30)) == [0xAA, 5])

        // After the ban it gets in again.
        let readmitted = await eventually(within: ban + .seconds(10), pollingEvery: .milliseconds(200)) {
            guard let peer = try? await ScriptedPeer.dial(Keys.signers[1], port: server.port) else { return false }
            defer { Task { await peer.close() } }
            return await peer.authenticates(within: .seconds(1))
        }
        #expect(readmitted)
        #expect(ContinuousClock.now - sent >= ban, "let back in only after the ban")
        #expect(server.peerStatistics()[offenderID]?.banRemaining == nil)
        await shutdownAll(servers)
    }
}

@Suite("Offences the node core reports") struct ReportedOffenceTests {
    /// Offences the node core reports (a bad signature, an invalid message)
    /// are counted per peer; within its budget the peer stays connected,
    /// past it the peer is disconnected and banned.
    @Test func reportedOffencesAreCountedAndPastTheBudgetBan() async throws {
        let servers = try await startTransports([Keys.signers[0]]) {
            $0.offenceBudget = 1
            $0.initialBan = .seconds(30)
        }
        let server = servers[0]
        server.register(RecordingHandler())
        let peerID = Keys.signers[1].nodeID
        let peer = try await ScriptedPeer.dial(Keys.signers[1], port: server.port)
        #expect(await peer.authenticates())

        server.penalize(peerID, for: .invalidSignature)
        #expect(!(await peer.closedByPeer(within: .milliseconds(500))), "one offence within the budget")
        var statistics = server.peerStatistics()[peerID]
        #expect(statistics?.invalidSignatures == 1 && statistics?.bans == 0 && statistics?.banRemaining == nil)

        server.penalize(peerID, for: .invalidMessage)
        #expect(await peer.closedByPeer(within: .seconds(10)), "past the budget: disconnected")
        statistics = server.peerStatistics()[peerID]
        #expect(statistics?.invalidMessages == 1 && statistics?.bans == 1 && statistics?.disconnects == 1)
        #expect(statistics?.banRemaining != nil)
        #expect(server.statistics.bans == 1)
        let again = try await ScriptedPeer.dial(Keys.signers[1], port: server.port)
        #expect(await again.closedByPeer(within: .seconds(3)))
        #expect(!again.authenticated, "refused while banned")
        await shutdownAll(servers)
    }
}
