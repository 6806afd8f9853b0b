import ChunkStore
import DSMR
import DSMRNodeRuntime
import Testing

@Suite("Control messages")
struct ControlMessageTests {
    @Test func requestsRoundTripAndRefuseTrailingBytes() throws {
        let requests: [ControlRequest] = [
            .status, .submit([[1, 2, 3], []]), .buildBlock(timestamp: 42), .block(height: 7),
            .blockTransactions(height: 9), .nonces([[UInt8](repeating: 5, count: 32)]), .stateRoot(height: 3),
        ]
        for request in requests {
            let bytes = request.encoded()
            #expect(try ControlRequest(decoding: bytes) == request)
            #expect(throws: CodecError.self) { try ControlRequest(decoding: bytes + [0]) }
        }
    }

    @Test func anUnknownTagIsRefusedByName() {
        #expect(throws: CodecError.self) { try ControlRequest(decoding: [1, 200]) }
        #expect(throws: CodecError.self) { try ControlResponse(decoding: [1, 200]) }
    }

    @Test func responsesRoundTrip() throws {
        let responses: [ControlResponse] = [
            .submitted(added: 1, notAssigned: 2, refused: 3), .accepted(height: 4, executedHeight: 3),
            .transactions([[UInt8](repeating: 9, count: 32)]), .nonces([1, 2]),
            .stateRoot(try StateRoot(bytes: [UInt8](repeating: 7, count: 32))),
            .error(ControlError(.notNext, "the node is at height 3")),
        ]
        for response in responses {
            #expect(try ControlResponse(decoding: response.encoded()) == response)
        }
    }
}
