import DSMR
import DSMRDevnet
import DSMRNodeRuntime
import DSMRTestSupport
import Foundation
import Testing

/// A validator restarted on a store with a damaged block row near its tip
/// could not accept the next blocks (it used to stall silently while the
/// devnet reported every validator up and in agreement). It now says why,
/// moves the store and its state aside, and comes back in step through
/// state sync.
@Suite("A damaged store is replaced through state sync")
struct DamagedStoreHealthTests {
    @Test func aDamagedBlockRowIsNamedAndTheValidatorComesBackInStepThroughStateSync() async throws {
        let scratch = try scratchDirectory("damaged-rows")
        defer { scratch.remove() }
        var options = try devnetOptions(scratch.path, load: .seconds(4))
        options.snapshotInterval = 8
        options.drainTimeout = .seconds(15)
        try await withDevnet(options) { devnet in
            let layout = devnet.layout
            _ = try await devnet.runLoad { _ in }
            // A certified snapshot to come back from.
            _ = try await servedSnapshot(devnet, among: [0, 1, 2, 3], runningLoad: true)
            let first = try await devnet.runLoad(duration: .seconds(1)) { _ in }
            #expect(first.executed > 0 && first.rootsAgree, "\(first)")
            let damaged = 3
            let height = first.commonHeight - 1
            guard case .block(let block)? = await ask(layout.controlSocket(0), .block(height: height)) else {
                Issue.record("no block at height \(height)")
                return
            }
            await devnet.kill(damaged)

            // Flip one byte in the middle of every copy of that block's bytes in the data file.
            let path = layout.storePath(damaged) + "/data.mdb"
            var data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            let needle = block.encoded()
            var copies = 0
            var index = 0
            while index + needle.count <= data.count {
                if data[index] == needle[0], Array(data[index..<(index + needle.count)]) == needle {
                    data[index + needle.count / 2] ^= 0x20
                    copies += 1
                    index += needle.count
                } else {
                    index += 1
                }
            }
            try #require(copies > 0, "the block's bytes are in the data file")
            try Data(data).write(to: URL(fileURLWithPath: path))

            try await devnet.startNode(damaged)
            let second = try await devnet.runLoad(duration: .seconds(4)) { _ in }
            let log = (try? String(contentsOfFile: layout.logPath(damaged), encoding: .utf8)) ?? ""
            let said = try #require(
                log.split(separator: "\n").first { $0.contains("the store cannot go on") }, "said in its log")
            #expect(said.contains("corruptRecord") && said.contains("\(height)"), "\(said)")
            #expect(said.contains("from the old store"), "the new store's floor comes from the old one: \(said)")
            #expect(log.contains("state sync: done"), "\(log.suffix(2_000))")
            let kept = try FileManager.default.contentsOfDirectory(atPath: layout.nodeDirectory(damaged))
            #expect(kept.contains { $0.hasPrefix("store.replaced-") }, "the damaged store is kept: \(kept)")
            // Back in step: healthy, caught up, agreeing.
            let node = try #require(second.nodes.first { $0.index == damaged })
            #expect(node.health == "healthy", "\(node)")
            #expect(second.lagging.isEmpty && second.unhealthy.isEmpty, "\(second)")
            #expect(second.rootsAgree && second.commonHeight > first.commonHeight, "\(second)")
            #expect(node.executedHeight >= second.commonHeight)
        }
    }
}
