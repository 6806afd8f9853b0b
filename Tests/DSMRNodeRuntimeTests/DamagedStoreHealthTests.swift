import DSMR
import DSMRDevnet
import DSMRNodeRuntime
import DSMRTestSupport
import Foundation
import Testing

/// A validator restarted on a store with a damaged block row near its tip
/// cannot accept the next blocks; it says so (its status, its log, the
/// devnet's summary), where it used to stall silently while the devnet
/// reported every validator up and in agreement.
@Suite("A damaged store is reported")
struct DamagedStoreHealthTests {
    @Test func aDamagedBlockRowMakesTheValidatorDegradedNamingTheRow() async throws {
        let scratch = try scratchDirectory("damaged-rows")
        defer { scratch.remove() }
        let options = try devnetOptions(scratch.path, load: .seconds(3))
        try await withDevnet(options) { devnet in
            let layout = devnet.layout
            let first = try await devnet.runLoad { _ in }
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
            let second = try await devnet.runLoad(duration: .seconds(3)) { _ in }
            let node = try #require(second.nodes.first { $0.index == damaged })
            let health = try #require(node.health, "\(second)")
            #expect(health.hasPrefix("degraded: acceptance: "), "\(health)")
            #expect(health.contains("corruptRecord"), "\(health)")
            #expect(second.unhealthy.map(\.index) == [damaged], "\(second.unhealthy)")
            let log = (try? String(contentsOfFile: layout.logPath(damaged), encoding: .utf8)) ?? ""
            let said = log.split(separator: "\n").filter { $0.contains("node degraded: acceptance") }
            #expect(!said.isEmpty, "said in its log")
            #expect(said.count <= 2, "said once per cause, not at every block: \(said.count) lines")
            // The others go on and agree.
            let others = second.nodes.filter { $0.index != damaged }
            #expect(others.allSatisfy { $0.health == "healthy" && $0.executedHeight > first.commonHeight })
        }
    }
}
