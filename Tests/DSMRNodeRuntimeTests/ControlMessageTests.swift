import ChunkStore
import DSMR
import DSMRNodeRuntime
import Testing

@Suite("Control messages")
struct ControlMessageTests {
    @Test func requestsRoundTripAndRefuseTrailingBytes() throws {
        let requests: [ControlRequest] = [
            .status, .submit([[1, 2, 3], []]), .buildBlock(timestamp: 42), .block(height: 7),
            .blockTransactions(height: 9), .query([1, 0, 0, 0, 0]), .query([]), .stateRoot(height: 3),
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
            .transactions([[UInt8](repeating: 9, count: 32)]), .answer([0, 0, 0, 1]),
            .error(ControlError(.badQuery, "unknown query tag 9")),
            .stateRoot(try StateRoot(bytes: [UInt8](repeating: 7, count: 32))),
            .error(ControlError(.notNext, "the node is at height 3")),
        ]
        for response in responses {
            #expect(try ControlResponse(decoding: response.encoded()) == response)
        }
    }

    @Test func aStatusCarriesTheNodesHealthAndRefusesAnUnknownCondition() throws {
        var status = NodeStatus(
            nodeID: try NodeID(bytes: [UInt8](repeating: 1, count: 20)), processID: 9, acceptedHeight: 3,
            acceptedID: .zero, acceptedTimestamp: 7, executedHeight: 2, executedRoot: .zero, mempool: 1,
            chunksBuilt: 2, chunksCertified: 1, blocksAccepted: 3, transactionsExecuted: 4, storeBytes: 5,
            stateBytes: 6)
        #expect(try ControlResponse(decoding: ControlResponse.status(status).encoded()) == .status(status))
        status.health = NodeHealth(condition: .degraded, cause: "acceptance: a damaged row at height 65")
        status.certifiedHeight = 64
        status.servedSnapshotHeight = 64
        status.signingFloor = 9_000
        let bytes = ControlResponse.status(status).encoded()
        #expect(try ControlResponse(decoding: bytes) == .status(status))
        // The condition byte follows the counters, and the cause and three heights follow it; 3 is no condition.
        let cause = Array(status.health.cause.utf8)
        var unknown = bytes
        unknown[unknown.count - cause.count - 5 - 24] = 3
        #expect(throws: CodecError.self) { try ControlResponse(decoding: unknown) }
        // A cause too long for a status is cut on whole characters.
        status.health.cause = String(repeating: "é", count: 3_000)
        guard case .status(let decoded) = try ControlResponse(decoding: ControlResponse.status(status).encoded()) else {
            Issue.record("not a status")
            return
        }
        #expect(decoded.health.cause.utf8.count <= ControlError.maxMessageBytes)
        #expect(decoded.health.cause.allSatisfy { $0 == "é" })
    }
}

@Suite("Control messages under hostile input")
struct ControlMessageHostileInputTests {
    @Test func aLongErrorMessageRoundTripsCutOnWholeCharacters() throws {
        // 1 + 2 × 3000 bytes: a cut at 4096 bytes alone would split an "é".
        let long = ControlResponse.error(ControlError(.failed, "a" + String(repeating: "é", count: 3_000)))
        let decoded = try ControlResponse(decoding: long.encoded())
        #expect(decoded == long)
        guard case .error(let error) = decoded else { return }
        #expect(error.message.utf8.count <= 4_096)
        #expect(error.message.unicodeScalars.allSatisfy { $0 == "a" || $0 == "é" })
    }

    @Test func anErrorMessageThatIsNotUTF8IsRefused() {
        var bytes = ControlResponse.error(ControlError(.failed, "ab")).encoded()
        bytes[bytes.count - 1] = 0xFF
        #expect(throws: CodecError.self) { try ControlResponse(decoding: bytes) }
    }

    @Test func framesSplitWhereTheirLengthsSayAndKeepTheirIDs() {
        let first = ControlFrame(id: 7, payload: ControlRequest.status.encoded())
        let second = ControlFrame(id: .max, payload: [])
        let bytes = first.encoded() + second.encoded()
        #expect(first.encoded().count == ControlFrame.headerBytes + first.payload.count)
        // Every cut short of the end leaves the partial frame for later, with no error.
        for end in 0...bytes.count {
            let (frames, error) = decodeControlFrames(Array(bytes[..<end]))
            #expect(error == nil)
            let whole = end < first.encoded().count ? 0 : end < bytes.count ? 1 : 2
            #expect(frames == Array([first, second].prefix(whole)))
        }
    }

    @Test func aLengthTooShortForTheIDOrAboveTheMaximumIsRefusedBeforeTheBody() {
        for length in [UInt32(0), 7, UInt32(8 + ControlFrame.maxPayloadBytes + 1), .max] {
            // The length prefix alone: the decoder must not wait for the body.
            let prefix = withUnsafeBytes(of: length.bigEndian) { Array($0) }
            let (frames, error) = decodeControlFrames(prefix)
            #expect(frames.isEmpty && error?.code == .malformed, "length \(length)")
        }
        let largest = UInt32(8 + ControlFrame.maxPayloadBytes)
        #expect(decodeControlFrames(withUnsafeBytes(of: largest.bigEndian) { Array($0) }).error == nil)
    }
}
