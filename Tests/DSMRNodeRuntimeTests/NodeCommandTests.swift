import DSMR
import DSMRDevnet
import DSMRNodeRuntime
import DSMRTestSupport
import DemoVM
import Foundation
import Testing

/// `dsmr-node keygen` and `dsmr-node run` as processes: key files, bad
/// configurations, the store's writer lock and a clean shutdown.
@Suite("dsmr-node commands")
struct NodeCommandTests {
    @Test func keygenWritesAnOwnerOnlyKeyFileAndNeverReplacesOne() async throws {
        let scratch = try scratchDirectory("keygen")
        defer { scratch.remove() }
        let node = try builtExecutable("dsmr-node")
        let path = scratch.path + "/node.key"

        let first = try await runTool(node, ["keygen", path])
        #expect(first.status == 0, "\(first)")
        #expect(first.stdout.contains("publicKey "), "\(first)")
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let written = try Data(contentsOf: URL(fileURLWithPath: path))
        let signer = try Ed25519Signer(keyFile: path)
        #expect(first.stdout.contains(Hex.encode(signer.publicKey)))

        let second = try await runTool(node, ["keygen", path])
        #expect(second.status != 0, "\(second)")
        #expect(second.stderr.contains(path), "\(second)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == written, "the existing key file is unchanged")
    }

    @Test func runRefusesAConfigurationWithAnUnknownKeyNamingIt() async throws {
        let scratch = try scratchDirectory("unknown")
        defer { scratch.remove() }
        let layout = try DevnetLayout.prepare(
            directory: scratch.path + "/devnet", validators: 1, provider: DemoProvider())
        _ = try layout.writeConfigurations()
        let path = try rewriteConfiguration(layout, as: "misspelt.json") { $0["listenAddress"] = "127.0.0.1:1" }

        let node = try builtExecutable("dsmr-node")
        let run = try await runTool(node, ["run", "--config", path], timeout: .seconds(30))
        #expect(run.status != 0, "\(run)")
        #expect(run.stderr.contains("unknown key \"listenAddress\""), "\(run)")
        #expect(!FileManager.default.fileExists(atPath: layout.storePath(0)), "nothing is created")
    }

    @Test func runRefusesAKeyOutsideTheValidatorSetNamingTheSetting() async throws {
        let scratch = try scratchDirectory("outsider")
        defer { scratch.remove() }
        let layout = try DevnetLayout.prepare(
            directory: scratch.path + "/devnet", validators: 1, provider: DemoProvider())
        _ = try layout.writeConfigurations()
        let node = try builtExecutable("dsmr-node")
        let keygen = try await runTool(node, ["keygen", layout.nodeDirectory(0) + "/outsider.key"])
        #expect(keygen.status == 0, "\(keygen)")
        let path = try rewriteConfiguration(layout, as: "outsider.json") { $0["keyFile"] = "outsider.key" }

        let run = try await runTool(node, ["run", "--config", path], timeout: .seconds(30))
        #expect(run.status != 0, "\(run)")
        #expect(run.stderr.contains("keyFile"), "\(run)")
        #expect(run.stderr.contains("outsider.key"), "\(run)")
        #expect(!FileManager.default.fileExists(atPath: layout.storePath(0)), "nothing is created")
    }

    /// A state that cannot be opened because the genesis file is bad (a new
    /// state would not open either) is the configuration's fault: the node
    /// stops naming it, and its store and state stay where they are.
    @Test func aBadGenesisStopsTheNodeWithoutMovingItsStoreAside() async throws {
        let scratch = try scratchDirectory("bad-genesis")
        defer { scratch.remove() }
        let options = try devnetOptions(scratch.path, validators: 1, load: .seconds(1))
        let layout = try await withDevnet(options) { devnet in
            _ = try await devnet.runLoad { _ in }
            return devnet.layout
        }
        try Data("{\"accounts\": 7}".utf8).write(to: URL(fileURLWithPath: layout.genesisPath))
        let run = try await runTool(
            try builtExecutable("dsmr-node"), ["run", "--config", layout.configurationPath(0)], timeout: .seconds(30))
        #expect(run.status != 0, "\(run)")
        #expect(run.stderr.contains("genesis"), "\(run)")
        let entries = try FileManager.default.contentsOfDirectory(atPath: layout.nodeDirectory(0))
        #expect(!entries.contains { $0.contains(".replaced-") || $0.contains(".probe-") }, "\(entries)")
        #expect(entries.contains("store") && entries.contains("state"), "\(entries)")
    }

    @Test func aSecondNodeOnTheSameStoreIsRefusedNamingTheHolder() async throws {
        let scratch = try scratchDirectory("lock")
        defer { scratch.remove() }
        let options = try devnetOptions(scratch.path, validators: 1, load: .seconds(1))
        try await withDevnet(options) { devnet in
            let layout = devnet.layout
            let socket = layout.controlSocket(0)
            let holder = try #require(await nodeStatus(socket))

            let second = try await runTool(options.executable, ["run", "--config", layout.configurationPath(0)])
            #expect(second.status != 0 && !second.signalled, "\(second)")
            #expect(second.stderr.contains("held by another writer (pid \(holder.processID) on"), "\(second)")

            // The first node goes on: it answers on its socket (not replaced) and executes a load.
            #expect(FileManager.default.fileExists(atPath: socket))
            #expect(await nodeStatus(socket)?.processID == holder.processID)
            let summary = try await devnet.runLoad { _ in }
            #expect(summary.executed > 0 && summary.rootsAgree, "\(summary)")
        }
    }

    @Test func sigtermStopsTheNodeCleanlyAndItsStorePassesCheck() async throws {
        let scratch = try scratchDirectory("term")
        defer { scratch.remove() }
        let options = try devnetOptions(scratch.path, validators: 1, load: .seconds(1))
        try await withDevnet(options) { devnet in
            let layout = devnet.layout
            let summary = try await devnet.runLoad { _ in }
            #expect(summary.executed > 0, "the store holds executed blocks: \(summary)")
            let process = try #require(devnet.process(0))

            process.signal(SIGTERM)
            try await waitUntil("dsmr-node ends after SIGTERM", timeout: .seconds(20)) { !process.isRunning }
            #expect(process.exitStatus == 0, "\(logTail(layout, 0))")
            #expect(!FileManager.default.fileExists(atPath: layout.controlSocket(0)), "the control socket is removed")
            #expect(logTail(layout, 0, lines: 3).contains("node stopped"), "\(logTail(layout, 0))")

            let check = try await runTool(try builtExecutable("dsmr-store"), ["check", "--store", layout.storePath(0)])
            #expect(check.status == 0 && !check.signalled, "\(check)")
        }
    }
}

/// Writes validator 0's configuration, changed by `change`, beside it as `name`; returns its path.
private func rewriteConfiguration(
    _ layout: DevnetLayout, as name: String, _ change: (inout [String: Any]) -> Void
) throws -> String {
    let data = try Data(contentsOf: URL(fileURLWithPath: layout.configurationPath(0)))
    guard var object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        throw TestFailure("\(layout.configurationPath(0)) is not a JSON object")
    }
    change(&object)
    let path = layout.nodeDirectory(0) + "/" + name
    try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
    return path
}

@Suite("dsmr-node devnet --reset")
struct DevnetResetTests {
    @Test func resetRefusesADirectoryThatHoldsNoDevnet() async throws {
        let scratch = try scratchDirectory("reset")
        defer { scratch.remove() }
        let precious = scratch.path + "/precious.txt"
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: precious))
        let run = try await runTool(
            try builtExecutable("dsmr-node"), ["devnet", "--data", scratch.path, "--reset", "--duration", "1"])
        #expect(run.status == 1, "\(run)")
        #expect(run.stderr.contains("not a devnet directory"), "\(run)")
        #expect(FileManager.default.fileExists(atPath: precious))
    }

    /// With --json, standard output is the summary alone (a program can parse
    /// it); the header and progress lines go to standard error.
    @Test func jsonPutsOnlyTheSummaryOnStandardOutput() async throws {
        let scratch = try scratchDirectory("json")
        defer { scratch.remove() }
        let run = try await runTool(
            try builtExecutable("dsmr-node"),
            [
                "devnet", "--data", scratch.path + "/devnet", "--validators", "1", "--ordering", "driver",
                "--duration", "1", "--tx-rate", "50", "--json",
            ])
        #expect(run.status == 0, "\(run)")
        let summary = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        #expect(summary?["rootsAgree"] as? Bool == true, "\(run.stdout)")
        #expect(run.stderr.contains("devnet in "), "\(run)")
    }
}
