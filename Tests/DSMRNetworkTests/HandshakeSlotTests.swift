import DSMR
import DSMRNetwork
import DSMRNode
import DSMRTestSupport
import Synchronization
import Testing

/// Connections that never prove themselves cannot keep a validator out:
/// each validator listens on and dials from its own loopback address,
/// whose handshake slots no outsider can take.
@Suite("Handshake slots", .serialized)
struct HandshakeSlotTests {
    @Test func silentConnectionsFromOutsidersDoNotKeepAValidatorOut() async throws {
        // Few slots for outsiders, so theirs churn fast.
        let server = try await transport(Keys.signers[0], at: "127.0.0.10") { $0.maxPendingHandshakes = 16 }
        let validator = try await transport(Keys.signers[1], at: "127.0.0.11")
        server.register(RecordingHandler())
        server.setAddress(host: "127.0.0.11", port: validator.port, of: validator.local)
        validator.setAddress(host: "127.0.0.10", port: server.port, of: server.local)

        // 40 from one outsider address, 2 from each of 60 others, 8 from the
        // validator's own address: each reopened as soon as it is closed.
        let sources =
            Array(repeating: "127.0.0.99", count: 40) + (100..<160).flatMap { ["127.0.0.\($0)", "127.0.0.\($0)"] }
            + Array(repeating: "127.0.0.11", count: 8)
        let rounds = Mutex(0)
        let holder = Task {
            var clients: [RawClient?] = Array(repeating: nil, count: sources.count)
            while !Task.isCancelled {
                for (index, source) in sources.enumerated() where !(clients[index]?.channel.isActive ?? false) {
                    clients[index] = try? await RawClient(
                        port: server.port, host: "127.0.0.10", from: source, sending: [])
                }
                rounds.withLock { $0 += 1 }
                try? await Task.sleep(for: .milliseconds(10))
            }
            for client in clients { await client?.close() }
        }
        #expect(await eventually(within: .seconds(120)) { rounds.withLock { $0 } >= 2 })
        #expect(server.statistics.handshakesEvicted > 0)

        let start = ContinuousClock.now
        let answered = await eventually(within: .seconds(4)) {
            (try? await validator.request([1], to: server.local, timeout: .seconds(1))) == [0xAA, 1]
        }
        #expect(answered, "the validator got in within \(ContinuousClock.now - start): \(server.statistics)")
        holder.cancel()
        await holder.value
        await shutdownAll([server, validator])
    }

    private func transport(
        _ signer: Ed25519Signer, at host: String, adjust: (inout TCPTransportConfiguration) -> Void = { _ in }
    ) async throws -> TCPTransport {
        var configuration = TCPTransportConfiguration(signer: signer, domain: Keys.domain) { Keys.validators }
        configuration.logger.logLevel = .critical
        configuration.host = host
        configuration.dialFrom = host
        configuration.reconnectBackoff = .milliseconds(20)
        configuration.maxReconnectBackoff = .milliseconds(200)
        adjust(&configuration)
        return try await TCPTransport(configuration)
    }
}
