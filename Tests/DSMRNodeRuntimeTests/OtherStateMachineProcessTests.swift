import ChunkStore
import DSMR
import DSMRDevnet
import DSMRNode
import DSMRTestSupport
import Foundation
import KeyValueMachine
import Testing

/// A devnet of `dsmr-test-node` processes: the same runtime, devnet and
/// replay as `dsmr-node`, with the test-only key-value state machine and its
/// own load in place of DemoVM.
@Suite("Another state machine's processes", .serialized)
struct OtherStateMachineProcessTests {
    /// Four validators of `dsmr-test-node` for 2 s at 200 writes/s, never restarted by the devnet.
    static func options(_ directory: String) throws -> DevnetOptions {
        var options = DevnetOptions(
            directory: directory + "/devnet", executable: try builtExecutable("dsmr-test-node"),
            provider: KeyValueProvider())
        options.validators = 4
        // Tests kill and restart validators themselves.
        options.restartDied = false
        options.duration = .seconds(2)
        options.transactionRate = 200
        options.statusInterval = .milliseconds(500)
        options.drainTimeout = .seconds(20)
        return options
    }

    @Test func fourValidatorsOfAKeyValueMachineExecuteItsLoadAgreeAndReplayMatches() async throws {
        let scratch = try scratchDirectory("key-value")
        defer { scratch.remove() }
        let devnet = try Devnet(try Self.options(scratch.path))
        let summary = try await devnet.run { _ in }

        #expect(summary.rootsAgree, "\(summary)")
        #expect(summary.submitted >= 2 * 200, "the load submits its rate for its whole duration")
        #expect(summary.executed * 2 >= summary.submitted, "most of the writes executed: \(summary)")
        #expect(summary.pending == 0 && summary.submitted == summary.executed + summary.lost)
        #expect(summary.commonHeight > 0)

        // The state every validator executed is the key-value machine's: node 0's
        // state, opened through the provider, holds the load's writes, and its
        // root is the one its store recorded.
        let layout = devnet.layout
        let store = try ChunkStore(adopting: layout.storePath(0), readOnly: true)
        defer { store.close() }
        let machine = try KeyValueProvider().open(
            StateMachineContext(
                directory: layout.nodeDirectory(0) + "/state",
                genesis: Array(try Data(contentsOf: URL(fileURLWithPath: layout.genesisPath))),
                domain: store.configuration.domain, rules: store.configuration.rules))
        defer { machine.close() }
        let executed = try #require(try machine.executedState())
        #expect(executed.height >= summary.commonHeight)
        #expect(try store.stateRoot(at: executed.height) == executed.root)
        let source = try KeyValueProvider().loadSource(
            seed: try layout.loadSeed(), parties: layout.identity.accounts, domain: store.configuration.domain,
            lifetime: 1_000)
        let writers = (0..<source.laneCount).map { source.sponsor(ofLane: $0) }
        let sequences = try KeyValueQuery.decodeNextSequences(
            machine.query(KeyValueQuery.nextSequences(writers).encoded()), count: writers.count)
        #expect(
            sequences.reduce(0, +) == UInt64(summary.executed),
            "every executed write moved its writer's sequence on, and nothing else did")

        // Replay, through the same state machine, reproduces every recorded root.
        let replay = try await runTool(
            try builtExecutable("dsmr-test-node"),
            ["replay", "--store", layout.storePath(0), "--genesis", layout.genesisPath, "--json"])
        #expect(replay.status == 0, "\(replay)")
        let output = try JSONDecoder().decode(ReplayOutput.self, from: Data(replay.stdout.utf8))
        #expect(output.result == "matched")
        #expect(output.lastMatched == executed.height)
        #expect(output.matched == Int(executed.height) + 1, "every height from genesis on")

        // DemoVM's replay cannot take this chain: the genesis is not DemoVM's.
        let demo = try await runTool(
            try builtExecutable("dsmr-store"),
            ["replay", "--store", layout.storePath(0), "--genesis", layout.genesisPath])
        #expect(demo.status != 0, "\(demo)")
    }

    struct ReplayOutput: Decodable {
        var matched: Int
        var lastMatched: UInt64?
        var result: String
    }
}
