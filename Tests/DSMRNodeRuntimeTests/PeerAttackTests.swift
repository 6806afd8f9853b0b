import ChunkStore
import DSMR
import DSMRNetwork
import DSMRNode
import DSMRDevnet
import DSMRNodeRuntime
import DSMRTestSupport
import Testing

/// Hostile peers against node 0 of a devnet of real `dsmr-node` processes
/// while the load runs: each attack costs only the attacker's connection,
/// node 0 goes on signing the other validators' chunks, the load executes,
/// and every validator has the same state root at every height.
@Suite("dsmr-node under hostile peers", .serialized)
struct PeerAttackTests {
    @Test func aKeyOutsideTheValidatorSetIsDisconnectedAndNothingItSendsIsStored() async throws {
        try await withStartedDevnet(validators: 4, duration: .seconds(4)) { devnet in
            let target = try PeerTarget(devnet, index: 0)
            let load = Task { try await devnet.runLoad { _ in } }
            defer { devnet.stopLoad() }
            let signedBefore = try await target.withStore { try signedForOthers($0, target) }
            let outsider = Ed25519Signer.generate()
            let chunk = try Chunk.sign(
                producer: outsider, beneficiary: outsider.nodeID, slot: target.currentSlot, transactions: [[1, 2, 3]],
                domain: target.domain)
            let asksForAShare = NodeMessage.requestChunkSignatureShare(chunk).encoded()

            // Through the transport: the outsider trusts node 0; node 0 does not trust it.
            let everyone = try ValidatorSet(
                epoch: 0,
                validators: target.validators.validators + [Validator(publicKey: outsider.publicKey, weight: 1)])
            var configuration = TCPTransportConfiguration(signer: outsider, domain: target.domain) { everyone }
            configuration.logger.logLevel = .critical
            let transport = try await TCPTransport(configuration)
            transport.setAddress(host: target.host, port: target.port, of: target.nodeID)
            do {
                _ = try await transport.request(asksForAShare, to: target.nodeID, timeout: .seconds(5))
                Issue.record("node 0 answered a key outside the validator set")
            } catch let error as TransportError {
                #expect(error.code == .unreachable, "\(error)")
            }
            await transport.gossip(asksForAShare, to: target.nodeID)
            await transport.shutdown(within: .seconds(1))

            // By hand: the outsider's hello with a request pipelined behind it.
            let pipelined = try await RawStreamClient.connectTLS(host: target.host, port: target.port)
            await pipelined.send(
                Frame.hello(Hello.fresh(domain: target.domain, nodeID: outsider.nodeID)).encoded()
                    + Frame.request(id: 1, payload: asksForAShare).encoded())
            #expect(await pipelined.closedByPeer(), "an outsider's hello is answered by closing")
            // A validator's id without its key: the proof cannot be made.
            let impostor = try await RawStreamClient.connectTLS(host: target.host, port: target.port)
            await impostor.send(
                Frame.hello(Hello.fresh(domain: target.domain, nodeID: target.others[0])).encoded()
                    + Frame.proof(signature: [UInt8](repeating: 7, count: 64)).encoded()
                    + Frame.request(id: 1, payload: asksForAShare).encoded())
            #expect(await impostor.closedByPeer(), "a proof not made with the validator's key is answered by closing")

            // Node 0 goes on signing the other validators' chunks.
            try await target.withStore { store in
                // 60 s: a devnet that starts slowly on a busy machine begins behind the clock, and its load
                // first waits while blocks move chain time up (25 s seen in a full parallel run).
                let signed = try await eventually(within: .seconds(60)) {
                    try !signedForOthers(store, target).subtracting(signedBefore).isEmpty
                }
                #expect(signed, "node 0 signs the other validators' chunks during the attack")
            }
            let summary = try await load.value
            #expect(summary.executed > 0 && summary.pending == 0 && summary.rootsAgree, "\(summary)")
            let agree = try await stateRootsAgreeAtEveryHeight(devnet, upTo: summary.commonHeight)
            #expect(agree, "every validator has the same state root at every height")
            try await target.withStore { store in
                let chunks = try store.chunks(producer: outsider.nodeID, slots: Slot(0)...Slot.max)
                let signed = try store.signedChunk(producer: outsider.nodeID, slot: Slot(chunk.slot))
                #expect(chunks.isEmpty && signed == nil, "nothing from the outsider is stored")
            }
        }
    }

    @Test func oversizedFramesRandomBytesAndFloodsCostOnlyTheAttackersConnections() async throws {
        try await withStartedDevnet(validators: 4, duration: .seconds(5)) { devnet in
            let target = try PeerTarget(devnet, index: 0)
            let load = Task { try await devnet.runLoad { _ in } }
            defer { devnet.stopLoad() }
            let signedBefore = try await target.withStore { try signedForOthers($0, target) }
            let maxFrameBytes = NodeMessage.maxEncodedBytes(limits: DecodingLimits(rules: target.rules)) + 9

            // A length prefix one above the maximum, and 4 GiB - 1: closed without waiting for the body.
            for length in [UInt32(maxFrameBytes + 1), .max] {
                let client = try await RawStreamClient.connectTLS(host: target.host, port: target.port)
                await client.send(withUnsafeBytes(of: length.bigEndian) { Array($0) })
                #expect(await client.closedByPeer(within: .seconds(3)), "a frame of \(length) bytes")
            }

            // Random bytes, and frames of plausible length whose kind byte is unknown.
            var garbage: [RawStreamClient] = []
            for round in 0..<8 {
                var bytes = (0..<256).map { _ in UInt8.random(in: 0...255) }
                if round % 2 == 1 { bytes = [0, 0, 0, 16, 0xEE] + bytes.prefix(15) }
                let client = try await RawStreamClient.connectTLS(host: target.host, port: target.port)
                await client.send(bytes)
                garbage.append(client)
            }
            // Random bytes that happen to start with a small length wait for their body until the handshake timeout.
            for client in garbage { #expect(await client.closedByPeer(within: .seconds(15))) }

            // A flood of connections that say nothing (not even a TLS hello), from 127.0.0.1, where no
            // validator is (each validator has its own 127.0.0.x): past the 4 the node lets wait in their
            // handshake from one address, each pushes out the oldest at once (well before the handshake timeout).
            var idle: [RawStreamClient] = []
            for _ in 0..<100 { idle.append(try await RawStreamClient.connect(host: target.host, port: target.port)) }
            #expect(
                await eventually(within: .seconds(3)) { idle.filter { !$0.channel.isActive }.count >= 96 },
                "at most 4 connections from one outsider address wait in their handshake")
            for client in idle { await client.close() }

            // A flood of requests from a validator's second process: some are answered overloaded.
            let key = try Ed25519Signer(keyFile: devnet.layout.nodeDirectory(1) + "/node.key")
            let validators = target.validators
            var configuration = TCPTransportConfiguration(signer: key, domain: target.domain) { validators }
            configuration.logger.logLevel = .critical
            let twin = try await TCPTransport(configuration)
            twin.setAddress(host: target.host, port: target.port, of: target.nodeID)
            let flooded = await eventually(within: .seconds(20)) {
                await floodOfRequests(from: twin, to: target.nodeID, count: 400).overloaded > 0
            }
            #expect(flooded, "a burst of 400 requests from one validator gets overloaded replies")
            await twin.shutdown(within: .seconds(1))

            try await target.withStore { store in
                // 60 s: a devnet that starts slowly on a busy machine begins behind the clock, and its load
                // first waits while blocks move chain time up (25 s seen in a full parallel run).
                let signed = try await eventually(within: .seconds(60)) {
                    try !signedForOthers(store, target).subtracting(signedBefore).isEmpty
                }
                #expect(signed, "node 0 signs the other validators' chunks during the attack")
            }
            let summary = try await load.value
            #expect(summary.executed > 0 && summary.pending == 0 && summary.rootsAgree, "\(summary)")
            let agree = try await stateRootsAgreeAtEveryHeight(devnet, upTo: summary.commonHeight)
            #expect(agree, "every validator has the same state root at every height")
        }
    }
}

/// Sends `count` requests for chunks nobody has at once; counts the
/// overloaded replies. Every answer must be a node message.
private func floodOfRequests(
    from transport: TCPTransport, to peer: NodeID, count: Int
) async -> (overloaded: Int, answered: Int) {
    await withTaskGroup(of: NodeMessage?.self) { group in
        for index in 0..<count {
            group.addTask {
                let id = try! ChunkID(bytes: (0..<32).map { UInt8(truncatingIfNeeded: index >> ($0 % 4 * 8)) })
                let request = NodeMessage.requestChunk(id, expiry: 1).encoded()
                guard let answer = try? await transport.request(request, to: peer, timeout: .seconds(10)) else {
                    return nil
                }
                let message = try? NodeMessage(decoding: answer)
                #expect(message != nil, "an answer that is not a node message")
                return message
            }
        }
        var overloaded = 0
        var answered = 0
        for await message in group {
            guard let message else { continue }
            answered += 1
            if case .error(let reply) = message, reply.code == .overloaded { overloaded += 1 }
        }
        return (overloaded, answered)
    }
}
