import ChunkStore
import DSMR
import DSMRDevnet
import DSMRNodeRuntime
import DSMRTestSupport
import Foundation
import StoreMaintenance
import Testing

/// A capture of a devnet's peer traffic (tcpdump on loopback, only its
/// validators' ports) holds none of its chunks' bytes in the clear; with
/// the measurement-only plaintext switch the same capture does.
///
/// Runs where tcpdump is installed and may capture on loopback (probed).
@Suite(
    "Peer traffic on the wire", .serialized,
    .enabled(if: CaptureProbe.canCapture, "needs tcpdump, allowed to capture on lo"))
struct WireCaptureTests {
    @Test(arguments: [false, true])
    func aCaptureOfTheDevnetHoldsItsChunksBytesOnlyWithoutTLS(plaintext: Bool) async throws {
        let scratch = try scratchDirectory("capture")
        defer { scratch.remove() }
        var options = try devnetOptions(scratch.path, load: .seconds(3))
        if plaintext {
            for index in 0..<4 {
                options.overrides[index] = NodeOverride(
                    executable: options.executable, environment: [NodeRunner.plaintextLinksVariable: "1"])
            }
        }
        let capture = scratch.path + "/peers.pcap"
        try await withDevnet(options) { devnet in
            let targets = try (0..<4).map { try PeerTarget(devnet, index: $0) }
            let filter = "tcp and (" + targets.map { "port \($0.port)" }.joined(separator: " or ") + ")"
            let tcpdump = Process()
            tcpdump.executableURL = URL(fileURLWithPath: "/usr/bin/tcpdump")
            tcpdump.arguments = ["-i", "lo", "-U", "-s", "0", "-w", capture, filter]
            tcpdump.standardOutput = FileHandle.nullDevice
            tcpdump.standardError = FileHandle.nullDevice
            try tcpdump.run()
            // tcpdump writes the file's header once it listens.
            let listening = await eventually(within: .seconds(10)) {
                (try? FileManager.default.attributesOfItem(atPath: capture)[.size] as? Int) ?? 0 > 0
            }
            try #require(listening, "tcpdump started")

            let summary = try await devnet.runLoad { _ in }
            #expect(summary.executed > 0 && summary.rootsAgree, "\(summary)")
            // SIGKILL: the test process may ignore SIGTERM, and a child inherits that; -U wrote each packet.
            kill(tcpdump.processIdentifier, SIGKILL)
            tcpdump.waitUntilExit()

            // Transactions of chunks node 0 signed for the others: each chunk went to it over the wire.
            let target = targets[0]
            let needles = try await target.withStore { store in
                var needles: [[UInt8]] = []
                for history in try store.exportSigningHistory().data where history.producer != target.nodeID {
                    // Up to 4 of its chunks the store still holds (in a slow run the first ones may
                    // have expired and been collected by now).
                    var found = 0
                    for signed in history.signedChunks where found < 4 {
                        let expiry = target.rules.expiry(ofSlot: signed.slot)
                        guard let chunk = try store.chunk(signed.chunkID, expiry: expiry)?.chunk,
                            let transaction = chunk.transactions.first, transaction.count >= 48
                        else { continue }
                        // 32 bytes from the transfer's end: its signature.
                        needles.append(Array(transaction.suffix(32)))
                        found += 1
                    }
                }
                return needles
            }
            let signedCounts = try await target.withStore { store in
                try store.exportSigningHistory().data.map { "\($0.producer.hex.prefix(8)): \($0.signedChunks.count)" }
            }
            try #require(
                !needles.isEmpty,
                "chunks node 0 signed for the others (signed per producer \(signedCounts); routed \(summary.nodes.map(\.routed)))"
            )
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: capture)))
            let found = needles.filter { contains(bytes, $0) }
            if plaintext {
                #expect(!found.isEmpty, "without TLS the chunks' bytes are on the wire (\(bytes.count) bytes captured)")
            } else {
                #expect(found.isEmpty, "\(found.count) of \(needles.count) chunks' bytes in the clear")
                #expect(bytes.count > 10_000, "the capture holds the peers' traffic: \(bytes.count) bytes")
            }
        }
    }

    /// Whether `needle` occurs in `haystack`.
    func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard let first = needle.first, haystack.count >= needle.count else { return false }
        var index = 0
        while index + needle.count <= haystack.count {
            if haystack[index] == first, haystack[index..<(index + needle.count)].elementsEqual(needle) { return true }
            index += 1
        }
        return false
    }
}

/// Whether tcpdump is installed and may capture on loopback here: it is
/// started on `lo` and must still be running (listening) a second later.
enum CaptureProbe {
    static let canCapture: Bool = {
        let path = "/usr/bin/tcpdump"
        guard FileManager.default.isExecutableFile(atPath: path) else { return false }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: path)
        probe.arguments = ["-i", "lo", "-c", "1", "-w", "/dev/null", "tcp and port 9"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return false }
        Thread.sleep(forTimeInterval: 1)
        let listening = probe.isRunning
        if listening { kill(probe.processIdentifier, SIGKILL) }
        probe.waitUntilExit()
        return listening
    }()
}
