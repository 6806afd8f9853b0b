import DSMR
import DSMRDevnet
import DSMRNodeRuntime
import DSMRTestSupport
import Foundation
import Testing

/// The control socket of a real `dsmr-node` process: only its owner may
/// connect, and bytes that are not a request cost only their connection.
@Suite("dsmr-node's control socket under hostile input")
struct ControlSocketTests {
    @Test func theSocketIsReadableAndWritableByItsOwnerOnly() async throws {
        try await withStartedDevnet(validators: 1) { devnet in
            var info = stat()
            #expect(stat(devnet.layout.controlSocket(0), &info) == 0)
            #expect(info.st_mode & S_IFMT == S_IFSOCK)
            #expect(info.st_mode & 0o7777 == 0o600, "mode \(String(info.st_mode & 0o7777, radix: 8))")
        }
    }

    @Test func undecodableRequestsAreAnsweredMalformedAndTheConnectionServesOn() async throws {
        try await withStartedDevnet(validators: 1) { devnet in
            let client = try await RawStreamClient.connect(unixPath: devnet.layout.controlSocket(0))
            let payloads: [[UInt8]] = [
                [],  // nothing
                [9, 1],  // an unknown format version
                [1, 200],  // an unknown tag
                ControlRequest.status.encoded() + [0],  // trailing bytes
                [1, 2, 0xFF, 0xFF, 0xFF, 0xFF],  // a count far beyond what follows
                [1, 8],  // a height cut short
            ]
            for (index, payload) in payloads.enumerated() {
                let sent = ControlFrame(id: UInt64(100 + index), payload: payload)
                await client.send(sent.encoded())
                let answer = try #require(await nextFrame(from: client, after: index), "payload \(payload)")
                #expect(answer.id == sent.id)
                let response = try ControlResponse(decoding: answer.payload)
                guard case .error(let error) = response, error.code == .malformed else {
                    Issue.record("payload \(payload) got \(response)")
                    continue
                }
            }
            // The same connection, then a new one, are still served.
            await client.send(ControlFrame(id: 1, payload: ControlRequest.status.encoded()).encoded())
            let answer = try #require(await nextFrame(from: client, after: payloads.count))
            #expect(answer.id == 1)
            guard case .status = try ControlResponse(decoding: answer.payload) else {
                Issue.record("status was not answered")
                return
            }
            #expect(try await statusAnswered(devnet))
            await client.close()
        }
    }

    @Test func aLengthTooShortForItsIDClosesTheConnection() async throws {
        try await withStartedDevnet(validators: 1) { devnet in
            let client = try await RawStreamClient.connect(unixPath: devnet.layout.controlSocket(0))
            await client.send([0, 0, 0, 3, 1, 2, 3])
            #expect(await client.closedByPeer(within: .seconds(5)))
            #expect(client.received.isEmpty)
            #expect(try await statusAnswered(devnet))
        }
    }

    @Test func anOversizedLengthPrefixClosesTheConnectionBeforeItsBody() async throws {
        try await withStartedDevnet(validators: 1) { devnet in
            for length in [UInt32(8 + ControlFrame.maxPayloadBytes + 1), .max] {
                let client = try await RawStreamClient.connect(unixPath: devnet.layout.controlSocket(0))
                // The prefix alone: the node must not wait for the body.
                await client.send(withUnsafeBytes(of: length.bigEndian) { Array($0) })
                #expect(await client.closedByPeer(within: .seconds(5)), "length \(length)")
            }
            #expect(try await statusAnswered(devnet))
        }
    }
}

/// The `index`-th frame (counting from 0) `client` has received, once it is whole.
private func nextFrame(from client: RawStreamClient, after index: Int) async -> ControlFrame? {
    var frames: [ControlFrame] = []
    let whole = await eventually(within: .seconds(10)) {
        frames = decodeControlFrames(client.received).frames
        return frames.count > index
    }
    return whole ? frames[index] : nil
}

/// Whether the devnet's first node answers a status request on a new connection.
private func statusAnswered(_ devnet: Devnet) async throws -> Bool {
    let client = try await ControlClient.connect(path: devnet.layout.controlSocket(0))
    defer { Task { await client.close() } }
    guard case .status = try await client.send(.status) else { return false }
    return true
}
