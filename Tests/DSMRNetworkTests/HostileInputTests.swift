import DSMR
import DSMRNetwork
import DSMRNode
import DSMRTestSupport
import Testing

/// Outsiders, oversized frames, garbage and floods: each closes or slows
/// only the connection or peer at fault, and the node keeps serving the others.
@Suite("TCP transport under hostile input")
struct HostileInputTests {
    @Test func aKeyOutsideTheValidatorSetIsDisconnectedAndReachesNothing() async throws {
        let servers = try await startTransports(Array(Keys.signers.prefix(2)))
        let handler = RecordingHandler()
        servers[0].register(handler)
        servers[1].register(RecordingHandler())
        // The outsider trusts the server; the server does not trust the outsider.
        let everyone = try ValidatorSet(
            epoch: 0,
            validators: (Keys.signers + [Keys.outsider]).map { Validator(publicKey: $0.publicKey, weight: 10) })
        var configuration = TCPTransportConfiguration(signer: Keys.outsider, domain: Keys.domain) { everyone }
        configuration.logger.logLevel = .critical
        let outsider = try await TCPTransport(configuration)
        outsider.setAddress(host: "127.0.0.1", port: servers[0].port, of: servers[0].local)
        #expect(await requestError(outsider, [1], to: servers[0].local)?.code == .unreachable)
        await outsider.gossip([2], to: servers[0].local)
        #expect(await eventually { servers[0].statistics.handshakesRefused >= 1 })
        // The validator next door is still served.
        #expect(try await servers[1].request([3], to: servers[0].local, timeout: .seconds(30)) == [0xAA, 3])
        #expect(handler.seen.withLock { $0.requests.map(\.1) } == [[3]] && handler.gossipCount == 0)
        await shutdownAll(servers + [outsider])
    }

    @Test func framesSentWithAnOutsidersHelloNeverReachTheHandler() async throws {
        let servers = try await startTransports(Array(Keys.signers.prefix(1)))
        let handler = RecordingHandler()
        servers[0].register(handler)
        // A hello claiming an outsider's id, with a request and gossip pipelined behind it.
        let hello = Hello.fresh(domain: Keys.domain, nodeID: Keys.outsider.nodeID)
        let client = try await RawClient(
            port: servers[0].port,
            sending:
                Frame.hello(hello).encoded() + Frame.request(id: 1, payload: [1]).encoded()
                + Frame.gossip(payload: [2]).encoded())
        #expect(await client.closedByServer())
        // A validator's id without its key: the proof cannot be made.
        let impostor = try await RawClient(
            port: servers[0].port,
            sending:
                Frame.hello(Hello.fresh(domain: Keys.domain, nodeID: Keys.signers[1].nodeID)).encoded()
                + Frame.proof(signature: [UInt8](repeating: 7, count: 64)).encoded()
                + Frame.request(id: 1, payload: [1]).encoded())
        #expect(await impostor.closedByServer())
        #expect(servers[0].statistics.handshakesRefused == 2)
        #expect(handler.requestCount == 0 && handler.gossipCount == 0)
        await shutdownAll(servers)
    }

    @Test func aPeerOnAnotherNetworkIsRefused() async throws {
        let servers = try await startTransports(Array(Keys.signers.prefix(1)))
        var domain = Keys.domain
        domain.networkID += 1
        let client = try await RawClient(
            port: servers[0].port,
            sending: Frame.hello(Hello.fresh(domain: domain, nodeID: Keys.signers[1].nodeID)).encoded())
        #expect(await client.closedByServer())
        await shutdownAll(servers)
    }

    @Test func aFrameAboveTheMaximumClosesThatConnectionBeforeItsBody() async throws {
        let servers = try await startTransports(Array(Keys.signers.prefix(2))) { $0.maxFrameBytes = 1_000 }
        let handler = RecordingHandler()
        servers[0].register(handler)
        // The length prefix alone: the server must not wait for the 1001 bytes.
        let client = try await RawClient(port: servers[0].port, sending: [0, 0, 0x03, 0xE9])
        #expect(await client.closedByServer())
        #expect(servers[0].statistics.framesRefused == 1)
        // A length of 4 GiB - 1 is refused the same way.
        let huge = try await RawClient(port: servers[0].port, sending: [0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3])
        #expect(await huge.closedByServer())
        #expect(try await servers[1].request([5], to: servers[0].local, timeout: .seconds(30)) == [0xAA, 5])
        // An authenticated peer's own oversized frame is refused too.
        let big = [UInt8](repeating: 1, count: 1_000)
        #expect(await requestError(servers[1], big, to: servers[0].local) != nil)
        #expect(await eventually { servers[0].statistics.framesRefused == 3 })
        #expect(handler.requestCount == 1)
        #expect(
            await eventually {
                (try? await servers[1].request([6], to: servers[0].local, timeout: .seconds(1))) == [0xAA, 6]
            })
        await shutdownAll(servers)
    }

    @Test func randomBytesCloseThatConnection() async throws {
        let servers = try await startTransports(Array(Keys.signers.prefix(2)))
        let handler = RecordingHandler()
        servers[0].register(handler)
        var generator = SystemRandomNumberGenerator()
        for round in 0..<8 {
            var bytes = (0..<256).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if round % 2 == 1 {
                // A frame of plausible length whose kind byte is unknown.
                bytes = [0, 0, 0, 16, 0xEE] + bytes.prefix(15)
            }
            let client = try await RawClient(port: servers[0].port, sending: bytes)
            #expect(await client.closedByServer(), "round \(round): \(bytes.prefix(8))")
        }
        #expect(try await servers[1].request([7], to: servers[0].local, timeout: .seconds(30)) == [0xAA, 7])
        #expect(handler.requestCount == 1)
        await shutdownAll(servers)
    }

    @Test func aFloodingPeerGetsOverloadedRepliesWhileOthersAreServed() async throws {
        let servers = try await startTransports(Array(Keys.signers.prefix(3))) { $0.maxInFlightPerPeer = 4 }
        let handler = RecordingHandler()
        servers[0].register(handler)
        let flooder = servers[1]
        let target = servers[0].local
        // Both connections are set up before the flood: under a loaded machine a
        // TLS handshake can outlast the flood's deadlines, and this test is about
        // requests on a connection, not about dialing.
        #expect(try await flooder.request([1], to: target, timeout: .seconds(60)) == [0xAA, 1])
        #expect(try await servers[2].request([2], to: target, timeout: .seconds(60)) == [0xAA, 2])
        let answers = await withTaskGroup(of: [UInt8]?.self) { group in
            for _ in 0..<20 {
                group.addTask { try? await flooder.request([0xFF], to: target, timeout: .seconds(20)) }
            }
            // Four are held by the handler; the other sixteen are refused at once.
            var refused = 0
            var answers: [[UInt8]] = []
            for await answer in group {
                guard let answer else { continue }
                answers.append(answer)
                if case .error(let reply)? = try? NodeMessage(decoding: answer), reply.code == .overloaded {
                    refused += 1
                    if refused == 16 {
                        // Another validator is served meanwhile.
                        let served = try? await servers[2].request([8], to: target, timeout: .seconds(30))
                        #expect(served == [0xAA, 8])
                        #expect(handler.heldCount == 4)
                        handler.release()
                    }
                }
            }
            return answers
        }
        let overloaded = answers.filter { answer in
            if case .error(let reply)? = try? NodeMessage(decoding: answer) { return reply.code == .overloaded }
            return false
        }
        #expect(answers.count == 20)
        #expect(overloaded.count == 16)
        #expect(answers.filter { $0 == [0xAA, 0xFF] }.count == 4)
        #expect(servers[0].statistics.overloadedReplies == 16)
        handler.release()
        await shutdownAll(servers)
    }

    @Test func shutdownFinishesRequestsInHandAndRefusesNewOnes() async throws {
        let servers = try await startTransports(Array(Keys.signers.prefix(3)))
        let handler = RecordingHandler()
        servers[0].register(handler)
        let target = servers[0].local
        let held = Task { try await servers[1].request([0xFF, 1], to: target, timeout: .seconds(60)) }
        #expect(await eventually { handler.heldCount == 1 })
        // Served before shutdown starts, so servers[2] holds an open connection.
        #expect(try await servers[2].request([2], to: target, timeout: .seconds(30)) == [0xAA, 2])
        let stopping = Task { await servers[0].shutdown() }
        #expect(
            await eventually {
                guard let answer = try? await servers[2].request([3], to: target, timeout: .seconds(1)) else {
                    return true
                }
                if case .error(let reply)? = try? NodeMessage(decoding: answer) { return reply.code == .overloaded }
                return false
            })
        handler.release()
        #expect(try await held.value == [0xAA, 0xFF, 1])
        await stopping.value
        await shutdownAll(Array(servers.dropFirst()))
    }

    @Test func aPeerPastItsConnectionShareIsClosedWhileItsFirstConnectionServes() async throws {
        let servers = try await startTransports(Array(Keys.signers.prefix(2))) { $0.maxConnectionsPerPeer = 1 }
        servers[0].register(RecordingHandler())
        let target = servers[0].local
        #expect(try await servers[1].request([1], to: target, timeout: .seconds(30)) == [0xAA, 1])
        // The same validator again, from a second process of its own.
        var configuration = servers[1].configuration
        configuration.port = 0
        let twin = try await TCPTransport(configuration)
        twin.setAddress(host: "127.0.0.1", port: servers[0].port, of: target)
        #expect(await requestError(twin, [2], to: target)?.code == .unreachable)
        #expect(servers[0].statistics.handshakesRefused == 1)
        #expect(try await servers[1].request([3], to: target, timeout: .seconds(30)) == [0xAA, 3])
        await shutdownAll(servers + [twin])
    }

    @Test func connectionsThatNeverProveThemselvesPushOutOnlyTheOldestFromTheirAddress() async throws {
        let servers = try await startTransports(Array(Keys.signers.prefix(3))) {
            $0.maxPendingHandshakesPerAddress = 4
            // Long enough that the four in their handshake stay while the test looks.
            $0.helloTimeout = .seconds(600)
            $0.handshakeTimeout = .seconds(600)
        }
        servers[0].register(RecordingHandler())
        let target = servers[0].local
        #expect(try await servers[1].request([1], to: target, timeout: .seconds(30)) == [0xAA, 1])
        // Ten connections from one outsider's address that say nothing: the
        // newest four wait in their handshake, the six before were pushed out.
        var idle: [RawClient] = []
        for _ in 0..<10 {
            idle.append(try await RawClient(port: servers[0].port, from: "127.0.0.99", sending: []))
            // In order, so which are oldest is known.
            #expect(await eventually { servers[0].statistics.handshakesEvicted == max(idle.count - 4, 0) })
        }
        #expect(await eventually { idle.prefix(6).allSatisfy { !$0.channel.isActive } })
        #expect(idle.suffix(4).allSatisfy { $0.channel.isActive })
        #expect(servers[0].statistics.handshakesEvicted == 6)
        // The validator already connected is still served, and a new one gets in.
        #expect(try await servers[1].request([2], to: target, timeout: .seconds(30)) == [0xAA, 2])
        #expect(try await servers[2].request([3], to: target, timeout: .seconds(30)) == [0xAA, 3])
        for client in idle { await client.close() }
        await shutdownAll(servers)
    }
}
