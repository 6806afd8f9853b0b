import DSMR
import DSMRNetwork
import DSMRNode
import DSMRTestSupport
import Testing

/// Connections that never prove themselves cannot keep a validator out:
/// each validator listens on and dials from its own loopback address,
/// whose handshake slots no outsider can take.
@Suite("Handshake slots", .serialized)
struct HandshakeSlotTests {
    @Test func silentConnectionsFromOutsidersDoNotKeepAValidatorOut() async throws {
        let server = try await transport(Keys.signers[0], at: "127.0.0.10")
        let validator = try await transport(Keys.signers[1], at: "127.0.0.11")
        server.register(RecordingHandler())
        server.setAddress(host: "127.0.0.11", port: validator.port, of: validator.local)
        validator.setAddress(host: "127.0.0.10", port: server.port, of: server.local)

        // 40 from one outsider address, 2 from each of 60 others, 8 from the
        // validator's own address: each reopened as soon as it is closed.
        let sources =
            Array(repeating: "127.0.0.99", count: 40) + (100..<160).flatMap { ["127.0.0.\($0)", "127.0.0.\($0)"] }
            + Array(repeating: "127.0.0.11", count: 8)
        let holder = Task {
            var clients: [RawClient?] = Array(repeating: nil, count: sources.count)
            while !Task.isCancelled {
                for (index, source) in sources.enumerated() where !(clients[index]?.channel.isActive ?? false) {
                    clients[index] = try? await RawClient(
                        port: server.port, host: "127.0.0.10", from: source, sending: [])
                }
                try? await Task.sleep(for: .milliseconds(10))
            }
            for client in clients { await client?.close() }
        }
        #expect(
            await eventually { server.statistics.handshakesEvicted > sources.count - 64 }, "\(server.statistics)")

        let start = ContinuousClock.now
        let answered = await eventually(within: .seconds(4)) {
            (try? await validator.request([1], to: server.local, timeout: .seconds(1))) == [0xAA, 1]
        }
        #expect(answered, "the validator got in within \(ContinuousClock.now - start)")
        holder.cancel()
        await holder.value
        await shutdownAll([server, validator])
    }

    private func transport(_ signer: Ed25519Signer, at host: String) async throws -> TCPTransport {
        var configuration = TCPTransportConfiguration(signer: signer, domain: Keys.domain) { Keys.validators }
        configuration.logger.logLevel = .critical
        configuration.host = host
        configuration.dialFrom = host
        configuration.reconnectBackoff = .milliseconds(20)
        configuration.maxReconnectBackoff = .milliseconds(200)
        return try await TCPTransport(configuration)
    }
}
