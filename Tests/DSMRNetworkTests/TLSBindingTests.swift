import DSMR
import DSMRNetwork
import DSMRNode
import DSMRTestSupport
import Testing

/// A TLS certificate counts only when a validator key signed for it on
/// that connection: a peer with a valid certificate that no validator key
/// is bound to, or with a validator's key and a proof made for another
/// certificate, is disconnected, and nothing it sends is handled.
@Suite("TLS keys bound to validator keys")
struct TLSBindingTests {
    /// A request and a gossip, written right behind the dialer's proof.
    static let pipelined: [Frame] = [.request(id: 1, payload: [1]), .gossip(payload: [2])]

    @Test func aProofBoundToThisCertificateGetsInAndItsFramesAreHandled() async throws {
        // The control: the same frames, behind an honest proof, are handled.
        let servers = try await startTransports(Array(Keys.signers.prefix(1)))
        let handler = RecordingHandler()
        servers[0].register(handler)
        let peer = try await ScriptedPeer.dial(Keys.signers[1], port: servers[0].port, then: Self.pipelined)
        #expect(await peer.authenticates())
        #expect(await eventually { handler.requestCount == 1 && handler.gossipCount == 1 })
        await peer.close()
        await shutdownAll(servers)
    }

    @Test func aValidCertificateThatNoValidatorKeySignedForIsDisconnectedAndReachesNothing() async throws {
        let servers = try await startTransports(Array(Keys.signers.prefix(1)))
        let handler = RecordingHandler()
        servers[0].register(handler)
        // TLS completes with the outsider's fresh certificate; its hello claims
        // validator 2, and its proof, bound to that certificate, is signed with the outsider's key.
        let peer = try await ScriptedPeer.dial(
            Keys.outsider, port: servers[0].port, claiming: Keys.signers[1].nodeID, then: Self.pipelined)
        #expect(await peer.closedByPeer(within: .seconds(10)))
        #expect(!peer.authenticated && peer.received.isEmpty)
        #expect(servers[0].statistics.handshakesRefused == 1)
        #expect(handler.requestCount == 0 && handler.gossipCount == 0)
        await shutdownAll(servers)
    }

    @Test func aValidatorKeyPresentedWithAnotherCertificateIsDisconnectedAndReachesNothing() async throws {
        let servers = try await startTransports(Array(Keys.signers.prefix(1)))
        let handler = RecordingHandler()
        servers[0].register(handler)
        // Validator 2's own key signs the proof, but for another TLS key than
        // the one this connection presents (what a relay would hold).
        let elsewhere = try TLSIdentity.generate()
        let peer = try await ScriptedPeer.dial(
            Keys.signers[1], port: servers[0].port, link: .tlsProofFor(other: elsewhere), then: Self.pipelined)
        #expect(await peer.closedByPeer(within: .seconds(10)))
        #expect(!peer.authenticated && peer.received.isEmpty)
        #expect(servers[0].statistics.handshakesRefused == 1)
        #expect(handler.requestCount == 0 && handler.gossipCount == 0)
        await shutdownAll(servers)
    }

    @Test func aListenerWhoseProofNamesAnotherCertificateIsSentNoRequest() async throws {
        // The dialer's side: a listener holding validator 2's key, proving for another TLS key.
        let dialer = try await startTransports(Array(Keys.signers.prefix(1)))[0]
        let listener = try await ScriptedListener(Keys.signers[1], link: .tlsProofFor(other: TLSIdentity.generate()))
        dialer.setAddress(host: "127.0.0.1", port: listener.port, of: Keys.signers[1].nodeID)
        let error = await requestError(dialer, [1], to: Keys.signers[1].nodeID)
        #expect(error?.code == .unreachable, "\(String(describing: error))")
        #expect(await eventually { listener.peers.allSatisfy { !$0.channel.isActive } })
        #expect(listener.peers.allSatisfy { $0.received.isEmpty }, "no frame after the proofs")
        #expect(dialer.statistics.handshakesRefused >= 1)
        await listener.close()
        await shutdownAll([dialer])
    }

    @Test func aPlaintextPeerIsRefusedByATLSNode() async throws {
        let servers = try await startTransports(Array(Keys.signers.prefix(1)))
        let handler = RecordingHandler()
        servers[0].register(handler)
        let peer = try await ScriptedPeer.dial(
            Keys.signers[1], port: servers[0].port, link: .plaintext, then: Self.pipelined)
        #expect(await peer.closedByPeer(within: .seconds(10)))
        #expect(!peer.authenticated)
        #expect(await eventually { servers[0].statistics.tlsFailures == 1 })
        #expect(handler.requestCount == 0 && handler.gossipCount == 0)
        await shutdownAll(servers)
    }
}
