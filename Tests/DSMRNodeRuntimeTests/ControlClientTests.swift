import DSMRNodeRuntime
import Foundation
import Testing

@Suite("Control client")
struct ControlClientTests {
    @Test func aRequestThatGetsNoAnswerFailsAtItsDeadline() async throws {
        let path = "/tmp/dsmr-cc-\(UInt32.random(in: 0...UInt32.max)).sock"
        let server = try await ControlServer(path: path) { request in
            if case .status = request {
                // Never answers in time.
                try? await Task.sleep(for: .seconds(30))
            }
            return .answer([])
        }
        let client = try await ControlClient.connect(path: path)
        // Without the deadline the answer would come after 30 s, and no error.
        await #expect(throws: ControlError.self) { try await client.send(.status, timeout: .milliseconds(300)) }
        // The connection still serves the next request.
        #expect(try await client.send(.query([]), timeout: .seconds(10)) == .answer([]))
        await client.close()
        await server.close()
    }
}
