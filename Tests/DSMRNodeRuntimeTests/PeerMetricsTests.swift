import DSMR
import DSMRDevnet
import DSMRNetwork
import DSMRNode
import DSMRNodeRuntime
import DSMRTestSupport
import Testing

/// A validator's metrics count what each peer did wrong, labelled by peer.
@Suite("Per-peer metrics")
struct PeerMetricsTests {
    @Test func aChunkWithABadSignatureIsCountedAgainstTheValidatorThatSentIt() async throws {
        try await withStartedDevnet(validators: 4, duration: .seconds(3)) { devnet in
            let target = try PeerTarget(devnet, index: 0)
            let load = Task { try await devnet.runLoad { _ in } }
            defer { devnet.stopLoad() }
            // Validator 1's key in a second process asks node 0 to sign a chunk in its name
            // whose signature does not verify.
            let key = try Ed25519Signer(keyFile: devnet.layout.nodeDirectory(1) + "/node.key")
            // A slot at node 0's chain time, which a loaded machine may keep well behind the clock:
            // only the signature is wrong.
            let status = try #require(await nodeStatus(devnet.layout.controlSocket(0)))
            let genuine = try Chunk.sign(
                producer: key, beneficiary: key.nodeID, slot: target.rules.slot(at: status.acceptedTimestamp) + 1,
                transactions: [[9, 9, 9]], domain: target.domain)
            var signature = genuine.signature
            signature[10] ^= 0x08
            let forged = try Chunk(
                producer: key.nodeID, beneficiary: key.nodeID, slot: genuine.slot, transactions: genuine.transactions,
                signature: signature)
            let validators = target.validators
            var configuration = TCPTransportConfiguration(signer: key, domain: target.domain) { validators }
            configuration.logger.logLevel = .critical
            let twin = try await TCPTransport(configuration)
            twin.setAddress(host: target.host, port: target.port, of: target.nodeID)
            let answer = try await twin.request(
                NodeMessage.requestChunkSignatureShare(forged).encoded(), to: target.nodeID, timeout: .seconds(10))
            guard case .error(let reply) = try NodeMessage(decoding: answer) else {
                Issue.record("a chunk with a bad signature was answered with \(answer)")
                return
            }
            #expect(reply.code == .invalid, "\(reply)")
            await twin.shutdown(within: .seconds(1))

            let name = "dsmr_peer_invalid_signatures_total{peer=\"\(key.nodeID.hex)\"}"
            var samples: [String: Double] = [:]
            var scraped: HTTPAnswer?
            let counted = try await eventually(within: .seconds(10)) {
                scraped = try await HTTPAnswer.fetch("/metrics", from: devnet.metricsAddresses[0])
                samples = scraped?.samples ?? [:]
                return samples[name] == 1
            }
            // The peer and transport families say what they count too.
            #expect(scraped?.families.contains("dsmr_peer_invalid_signatures_total") == true)
            #expect(scraped?.familiesWithoutHelp.isEmpty == true, "\(scraped?.familiesWithoutHelp ?? [])")
            #expect(counted, "\(name) in \(samples.keys.filter { $0.hasPrefix("dsmr_peer_") }.sorted())")
            // The honest validators that talked to node 0 are listed with nothing against them.
            for other in target.others where other != key.nodeID {
                let theirs = samples["dsmr_peer_invalid_signatures_total{peer=\"\(other.hex)\"}"]
                #expect(theirs == nil || theirs == 0, "\(other): \(String(describing: theirs))")
            }
            #expect(samples["dsmr_transport_requests_served_total"] ?? 0 > 0)
            let summary = try await load.value
            #expect(summary.executed > 0 && summary.rootsAgree, "\(summary)")
        }
    }
}
