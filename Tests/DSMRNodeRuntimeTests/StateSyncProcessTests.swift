import ChunkStore
import DSMR
import DSMRDevnet
import DSMRNode
import DemoVM
import DSMRTestSupport
import Foundation
import StoreMaintenance
import Testing

/// A validator that lost its store comes back through state sync: real
/// `dsmr-node` processes over TCP, snapshots every 8 heights.
@Suite("State sync between processes", .serialized)
struct StateSyncProcessTests {
    func options(_ scratch: TemporaryDirectory) throws -> DevnetOptions {
        var options = try devnetOptions(scratch.path, load: .seconds(8), rate: 100)
        options.snapshotInterval = 8
        options.drainTimeout = .seconds(15)
        return options
    }

    @Test func aValidatorThatLostItsStoreInstallsACertifiedSnapshotSignsNoSlotTwiceAndReplayStartsFromOne() async throws
    {
        let scratch = try scratchDirectory("state-sync")
        defer { scratch.remove() }
        let options = try options(scratch)
        try await withDevnet(options) { devnet in
            let before = try await devnet.runLoad { _ in }
            #expect(before.rootsAgree, "\(before)")
            _ = try await servedSnapshot(devnet, among: [0, 1, 2, 3], runningLoad: true)
            let snapshots = "\(options.directory)/node3/snapshots"
            let kept = try FileManager.default.contentsOfDirectory(atPath: snapshots)
            #expect(kept.contains { $0.hasSuffix(".certificate") }, "\(kept)")

            // What node 3 signed before it lost its store.
            await devnet.kill(3)
            let storePath = devnet.layout.storePath(3)
            let history = try ChunkStore(adopting: storePath, readOnly: true)
            let signed = try history.exportSigningHistory()
            // The first slot the old store left open: past every slot it signed, and past those it
            // closed when it collected their records (a slow run may have collected them all).
            let firstOpen = max(
                signed.data.flatMap(\.signedChunks).map { $0.slot + 1 }.max() ?? 0, try history.signingFloor())
            history.close()
            #expect(firstOpen > 0, "the old store signed or closed some slot")
            for lost in [storePath, "\(options.directory)/node3/state", snapshots] {
                try FileManager.default.removeItem(atPath: lost)
            }

            try await devnet.startNode(3)
            let after = try await devnet.runLoad(duration: .seconds(6)) { _ in }
            #expect(after.lagging.isEmpty, "\(after.lagging)")
            #expect(after.rootsAgree && after.commonHeight > before.commonHeight, "\(after)")
            let rejoined = try #require(after.nodes.first { $0.index == 3 })
            #expect(rejoined.executedHeight >= after.commonHeight, "\(rejoined)")

            let log = try String(contentsOfFile: devnet.layout.logPath(3), encoding: .utf8)
            let done = try #require(
                log.split(separator: "\n").last { $0.contains("state sync: done") }, "no state sync in node 3's log")
            let syncedHeight = try #require(value(of: "height", in: done).flatMap(UInt64.init))
            #expect(syncedHeight >= 8 && syncedHeight % 8 == 0, "\(done)")
            let floor = try #require(value(of: "signingFloor", in: done).flatMap(UInt64.init))
            #expect(floor >= firstOpen, "floor \(floor), first slot the lost store left open \(firstOpen)")

            // Replay from node 1's newest kept snapshot: it starts at the snapshot's height and matches.
            let kept1 = "\(options.directory)/node1/snapshots"
            let newest = try #require(
                try FileManager.default.contentsOfDirectory(atPath: kept1).compactMap {
                    $0.hasSuffix(".snapshot") ? UInt64($0.dropLast(".snapshot".count)) : nil
                }.max())
            let file = try SnapshotFile.read(from: "\(kept1)/\(newest).snapshot")
            let store1 = try ChunkStore(adopting: devnet.layout.storePath(1), readOnly: true)
            defer { store1.close() }
            let genesis = Array(try Data(contentsOf: URL(fileURLWithPath: devnet.layout.genesisPath)))
            let replayed = try await StoreReplay.replay(
                store1, provider: DemoProvider(), genesis: genesis, snapshot: file)
            #expect(replayed.outcome == .matched && replayed.matched.first == newest, "\(replayed.output)")
            #expect(replayed.matched.count > 1, "heights after the snapshot were replayed too")
            var damaged = file
            damaged.pieces[0].payload[40] ^= 1
            await #expect(throws: (any Error).self) {
                try await StoreReplay.replay(store1, provider: DemoProvider(), genesis: genesis, snapshot: damaged)
            }

            await devnet.kill(3)
            let rebuilt = try ChunkStore(adopting: storePath, readOnly: true)
            defer { rebuilt.close() }
            #expect(try rebuilt.block(at: syncedHeight) != nil)
            #expect(try rebuilt.signingFloor() == floor)
            let newlySigned = try rebuilt.exportSigningHistory().data.flatMap(\.signedChunks).map(\.slot)
            #expect(
                newlySigned.allSatisfy { $0 >= floor }, "signed below the floor: \(newlySigned.filter { $0 < floor })")
        }
    }

    /// `key=value` from a log line's metadata.
    func value(of key: String, in line: Substring) -> String? {
        guard let range = line.range(of: "\(key)=") else { return nil }
        return String(line[range.upperBound...].prefix { !$0.isWhitespace })
    }
}

/// State sync past a Byzantine peer (`dsmr-byzantine bad-snapshots`): it
/// offers the certified snapshot, then serves its pieces and blocks with a
/// byte changed. Run with `DSMR_BYZANTINE_TESTS` set.
@Suite(
    "State sync past a Byzantine peer", .serialized,
    .enabled(if: ProcessInfo.processInfo.environment["DSMR_BYZANTINE_TESTS"] != nil))
struct StateSyncByzantineTests {
    @Test func badPiecesAndBlocksAreRefusedOnArrivalAndFetchedFromHonestPeers() async throws {
        let scratch = try scratchDirectory("state-sync-byz")
        defer { if ProcessInfo.processInfo.environment["DSMR_KEEP_DEVNET"] == nil { scratch.remove() } }
        var options = try devnetOptions(scratch.path, load: .seconds(8), rate: 100)
        options.snapshotInterval = 8
        options.drainTimeout = .seconds(15)
        // Three pieces of 1,024 accounts: every peer that offers is asked for one.
        options.accounts = 2_600
        options.overrides[0] = NodeOverride(
            executable: try builtExecutable("dsmr-byzantine"), environment: ["DSMR_BYZANTINE": "bad-snapshots"])
        try await withDevnet(options) { devnet in
            let before = try await devnet.runLoad { _ in }
            #expect(before.commonHeight > 0, "\(before)")
            _ = try await servedSnapshot(devnet, among: [0, 1, 2, 3], runningLoad: true)
            await devnet.kill(3)
            for lost in [
                devnet.layout.storePath(3), "\(options.directory)/node3/state", "\(options.directory)/node3/snapshots",
            ] {
                try FileManager.default.removeItem(atPath: lost)
            }
            // Every peer left serves the same snapshot, the Byzantine one included, so it is asked for a piece.
            let served = try await sameServedSnapshot(devnet, among: [0, 1, 2])
            try await devnet.startNode(3)
            let after = try await devnet.runLoad(duration: .seconds(6)) { _ in }
            let log = try String(contentsOfFile: devnet.layout.logPath(3), encoding: .utf8)
            let done = try #require(
                log.split(separator: "\n").last { $0.contains("state sync: done") }, "\(log.suffix(3_000))")
            #expect(done.contains("height=\(served) "), "\(done)")
            #expect(log.contains("a piece does not verify"), "the Byzantine peer was asked for a piece and refused")
            #expect(!done.contains("offenders=0"), "\(done)")
            let honest = after.nodes.filter { $0.index != 0 }
            #expect(Set(honest.map(\.stateRoot)).count == 1, "\(honest)")
            #expect(after.rootsAgree && !after.lagging.contains { $0.index == 3 }, "\(after)")
        }
    }

    /// Waits until validators `indices` serve one snapshot height, and returns it.
    func sameServedSnapshot(_ devnet: Devnet, among indices: [Int]) async throws -> UInt64 {
        try await servedSnapshot(devnet, among: indices, runningLoad: false)
    }
}

/// Waits until validators `indices` all serve a certified snapshot of one
/// height and returns it; with `runningLoad`, runs the load in short rounds
/// meanwhile (the chain moves only under load), up to 90 s on a slow machine.
func servedSnapshot(_ devnet: Devnet, among indices: [Int], runningLoad: Bool) async throws -> UInt64 {
    let deadline = ContinuousClock.now + .seconds(90)
    var heights: [UInt64] = []
    while ContinuousClock.now < deadline {
        heights = []
        for index in indices {
            if case .status(let status)? = await ask(devnet.layout.controlSocket(index), .status) {
                heights.append(status.servedSnapshotHeight)
            }
        }
        if heights.count == indices.count, Set(heights).count == 1, heights[0] > 0 { return heights[0] }
        if runningLoad {
            _ = try await devnet.runLoad(duration: .seconds(2)) { _ in }
        } else {
            try await Task.sleep(for: .milliseconds(200))
        }
    }
    throw TestFailure("validators \(indices) serve snapshots at \(heights), not one height")
}
