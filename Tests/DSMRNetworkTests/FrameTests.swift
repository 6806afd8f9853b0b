import DSMR
import DSMRNetwork
import Testing

@Suite("Frames and handshake messages")
struct FrameTests {
    static let hello = Hello(
        domain: Keys.domain, nodeID: Keys.signers[0].nodeID, nonce: [UInt8](repeating: 3, count: Hello.nonceBytes))

    @Test func everyFrameRoundTrips() throws {
        let frames: [Frame] = [
            .hello(Self.hello), .proof(signature: [UInt8](repeating: 5, count: 64)),
            .request(id: 0x0102_0304_0506_0708, payload: [9, 9]), .response(id: .max, payload: []),
            .gossip(payload: [1, 2, 3]), .gossip(payload: []),
        ]
        let stream = frames.flatMap { $0.encoded() }
        let decoded = decodeFrames(stream, maxFrameBytes: 1_000)
        #expect(decoded.frames == frames && decoded.error == nil)
    }

    @Test(arguments: [
        ([UInt8](), "empty frame"),
        ([0], "unknown frame kind 0"),
        ([6, 1], "unknown frame kind 6"),
        ([2] + [UInt8](repeating: 0, count: 63), "proof holds 63 bytes"),
        ([3, 0, 0, 0, 0, 0, 0, 0], "no 8-byte request id"),
        ([4, 0], "no 8-byte request id"),
        ([1] + [UInt8](repeating: 0, count: Hello.encodedBytes + 1), "hello holds 90 bytes"),
    ])
    func malformedBodiesAreRefusedWithTheirReason(body: [UInt8], reason: String) {
        #expect {
            _ = try Frame(body: body)
        } throws: { error in
            guard let error = error as? NetworkError else { return false }
            return error.code == .malformedFrame && error.message.contains(reason)
        }
    }

    @Test func aLengthAboveTheMaximumIsRefusedFromTheHeaderAlone() {
        let decoded = decodeFrames([0, 0, 0x10, 0x01], maxFrameBytes: 4_096)
        #expect(decoded.frames.isEmpty && decoded.error?.code == .frameTooLarge)
        // At the maximum it waits for the body.
        #expect(decodeFrames([0, 0, 0x10, 0x00, 5], maxFrameBytes: 4_096).error == nil)
    }

    @Test func aProofIsBoundToBothNoncesTheDomainItsDirectionAndTheTLSKeys() throws {
        let dialer = Keys.signers[0]
        let listener = Keys.signers[1]
        let dialerHello = Hello.fresh(domain: Keys.domain, nodeID: dialer.nodeID)
        let listenerHello = Hello.fresh(domain: Keys.domain, nodeID: listener.nodeID)
        let dialerTLS = try TLSIdentity.generate()
        let listenerTLS = try TLSIdentity.generate()
        let relayTLS = try TLSIdentity.generate()
        // What the dialer sees, and what the listener sees.
        let seenByDialer = TLSBinding(own: dialerTLS.keyHash, peer: listenerTLS.keyHash)
        let seenByListener = seenByDialer.reversed
        let proof = try dialer.sign(
            PeerHandshake.message(domain: Keys.domain, own: dialerHello, other: listenerHello, binding: seenByDialer))
        let validator = Keys.validators.validator(dialer.nodeID)!
        // The listener accepts it.
        try PeerHandshake.checkProof(
            proof, from: validator, domain: Keys.domain, own: listenerHello, other: dialerHello,
            binding: seenByListener)
        // Not for another connection's nonce, another network, turned around,
        // or in a TLS session with another key at either end (a relay's).
        let otherNonce = Hello.fresh(domain: Keys.domain, nodeID: listener.nodeID)
        var otherNetwork = Keys.domain
        otherNetwork.networkID += 1
        let refusals: [() throws -> Void] = [
            {
                try PeerHandshake.checkProof(
                    proof, from: validator, domain: Keys.domain, own: otherNonce, other: dialerHello,
                    binding: seenByListener)
            },
            {
                try PeerHandshake.checkProof(
                    proof, from: validator, domain: otherNetwork, own: listenerHello, other: dialerHello,
                    binding: seenByListener)
            },
            {
                try PeerHandshake.checkProof(
                    proof, from: validator, domain: Keys.domain, own: dialerHello, other: listenerHello,
                    binding: seenByListener)
            },
            {
                try PeerHandshake.checkProof(
                    proof, from: validator, domain: Keys.domain, own: listenerHello, other: dialerHello,
                    binding: TLSBinding(own: listenerTLS.keyHash, peer: relayTLS.keyHash))
            },
            {
                try PeerHandshake.checkProof(
                    proof, from: validator, domain: Keys.domain, own: listenerHello, other: dialerHello,
                    binding: TLSBinding(own: relayTLS.keyHash, peer: dialerTLS.keyHash))
            },
            {
                try PeerHandshake.checkProof(
                    proof, from: validator, domain: Keys.domain, own: listenerHello, other: dialerHello,
                    binding: .plaintext)
            },
        ]
        for refusal in refusals {
            #expect(throws: NetworkError.self) { try refusal() }
        }
    }

    @Test func helloChecksNameWhatIsWrong() {
        func code(_ hello: Hello, expected: NodeID? = nil) -> NetworkError.Code? {
            do {
                _ = try PeerHandshake.checkHello(
                    hello, domain: Keys.domain, local: Keys.signers[1].nodeID, validators: Keys.validators,
                    expected: expected)
                return nil
            } catch { return error.code }
        }
        let nonce = [UInt8](repeating: 1, count: Hello.nonceBytes)
        var otherChain = Keys.domain
        otherChain.chainID = .zero
        #expect(code(Hello(domain: Keys.domain, nodeID: Keys.signers[0].nodeID, nonce: nonce)) == nil)
        #expect(code(Hello(domain: otherChain, nodeID: Keys.signers[0].nodeID, nonce: nonce)) == .wrongNetwork)
        #expect(
            code(Hello(domain: Keys.domain, nodeID: Keys.signers[0].nodeID, nonce: nonce, version: 1)) == .wrongNetwork)
        #expect(code(Hello(domain: Keys.domain, nodeID: Keys.outsider.nodeID, nonce: nonce)) == .notAValidator)
        #expect(code(Hello(domain: Keys.domain, nodeID: Keys.signers[1].nodeID, nonce: nonce)) == .notAValidator)
        #expect(
            code(
                Hello(domain: Keys.domain, nodeID: Keys.signers[0].nodeID, nonce: nonce),
                expected: Keys.signers[2].nodeID)
                == .notAValidator)
    }
}
