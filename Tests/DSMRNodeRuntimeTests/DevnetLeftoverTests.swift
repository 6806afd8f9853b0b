import DSMRDevnet
import DSMRTestSupport
import Foundation
import Testing

/// A devnet killed with SIGKILL cannot stop its validators and etcd members.
/// The next run in its directory stops them before it starts its own, and no
/// run starts while another still runs there.
@Suite("dsmr-node devnet after a killed run")
struct DevnetLeftoverTests {
    @Test func anotherRunRefusesWhileOneRunsAndStopsWhatAKilledOneLeft() async throws {
        let scratch = try scratchDirectory("leftover")
        defer { scratch.remove() }
        let directory = scratch.path + "/devnet"
        let arguments = ["devnet", "--data", directory, "--validators", "1", "--etcd-members", "1", "--tx-rate", "50"]
        let executable = try builtExecutable("dsmr-node")
        let first = Process()
        first.executableURL = URL(fileURLWithPath: executable)
        first.arguments = arguments + ["--duration", "120"]
        first.standardOutput = FileHandle.nullDevice
        first.standardError = FileHandle.nullDevice
        try first.run()
        var left: [DevnetProcessRecord.Entry] = []
        defer {
            // Whatever the outcome, no process of either run outlives the test.
            kill(first.processIdentifier, SIGKILL)
            for entry in left + DevnetProcessRecord.read(directory) where entry.name != "devnet" && entry.isRunning {
                kill(entry.pid, SIGKILL)
            }
        }
        try await waitUntil(
            "the first run's validator to answer", timeout: .seconds(90), pollingEvery: .milliseconds(100)
        ) {
            let names = Set(DevnetProcessRecord.read(directory).map(\.name))
            guard names.isSuperset(of: ["devnet", "etcd0", "node0"]) else { return false }
            return await nodeStatus(directory + "/node0/control.sock") != nil
        }

        let refused = try await runTool(executable, arguments + ["--duration", "1"], timeout: .seconds(60))
        #expect(refused.status == 1, "\(refused)")
        #expect(refused.stderr.contains("a devnet (pid \(first.processIdentifier)) is running in"), "\(refused)")
        #expect(first.isRunning, "the refused run disturbed the running one")

        left = DevnetProcessRecord.read(directory).filter { $0.name != "devnet" }
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        let etcd = try #require(left.first { $0.name == "etcd0" })
        #expect(etcd.isRunning, "the etcd member should outlive its killed devnet")

        let rerun = try await runTool(executable, arguments + ["--duration", "1"], timeout: .seconds(120))
        #expect(rerun.status == 0, "\(rerun)")
        #expect(rerun.stderr.contains("left running: "), "\(rerun)")
        #expect(rerun.stderr.contains("etcd0"), "\(rerun)")
        for entry in left {
            #expect(!entry.isRunning, "\(entry.name) (pid \(entry.pid)) of the killed run still runs")
        }
        // The rerun recorded itself and its own children, and they ended with it.
        let recorded = DevnetProcessRecord.read(directory)
        #expect(Set(recorded.map(\.name)) == ["devnet", "etcd0", "node0"], "\(recorded)")
        #expect(recorded.allSatisfy { !$0.isRunning && !left.contains($0) }, "\(recorded)")
    }
}
