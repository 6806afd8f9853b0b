import DSMR
import DSMRNode
import Testing

@Suite struct MessageTests {
    static let chunk = Fixture.chunk(Fixture.signers[1], slot: 3)

    static let messages: [NodeMessage] = [
        .requestChunkSignatureShare(chunk),
        .chunkSignature(
            try! SignatureShare.sign(
                ChunkReference(chunk: chunk, rules: Fixture.rules), rules: Fixture.rules, signer: Fixture.signers[0],
                domain: Fixture.domain)),
        .requestChunk(chunk.id, expiry: 13_000),
        .chunk(chunk.encoded()),
        .certificateGossip(Fixture.certificate(chunk)),
        .error(ErrorReply(.rateLimited, "used 5 of 4")),
    ]

    @Test func everyMessageRoundTripsCanonically() throws {
        for message in Self.messages {
            let bytes = message.encoded()
            let decoded = try NodeMessage(decoding: bytes)
            #expect(decoded == message)
            #expect(decoded.encoded() == bytes)
        }
    }

    @Test func everyTruncationAndTrailingByteIsRefused() {
        for message in Self.messages {
            let bytes = message.encoded()
            for length in 0..<bytes.count {
                #expect(throws: CodecError.self) { try NodeMessage(decoding: Array(bytes.prefix(length))) }
            }
            #expect(throws: CodecError.self) { try NodeMessage(decoding: bytes + [0]) }
        }
    }

    @Test func unknownTagsAndErrorCodesAreRefused() throws {
        #expect(throws: CodecError.self) { try NodeMessage(decoding: [1, 7]) }
        #expect(throws: CodecError.self) { try NodeMessage(decoding: [1, 6, 0, 0, 0, 0, 0]) }
        #expect(throws: CodecError.self) { try NodeMessage(decoding: [1, 6, 10, 0, 0, 0, 0]) }
        // An error message that is not UTF-8.
        #expect(throws: CodecError.self) { try NodeMessage(decoding: [1, 6, 1, 0, 0, 0, 1, 0xFF]) }
        // A declared length far past the input is refused before allocating.
        #expect(throws: CodecError.self) { try NodeMessage(decoding: [1, 4, 0xFF, 0xFF, 0xFF, 0xFF]) }
    }

    @Test func longErrorMessagesAreCutAtACharacterBoundary() throws {
        let reply = ErrorReply(.invalid, String(repeating: "é", count: 400))
        #expect(reply.message.utf8.count <= ErrorReply.maxMessageBytes)
        #expect(reply.message.allSatisfy { $0 == "é" })
        #expect(try NodeMessage(decoding: NodeMessage.error(reply).encoded()) == .error(reply))
    }
}
