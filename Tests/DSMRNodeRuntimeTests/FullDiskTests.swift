import DSMR
import DSMRDevnet
import DSMRNodeRuntime
import DSMRTestSupport
import Foundation
import Testing

/// A validator whose store's disk fills says so once, naming the cause,
/// stops signing and exits with a distinct status for its supervisor; once
/// there is room again it starts on its store with nothing lost.
///
/// The store lives on a 320 KiB tmpfs mounted for the test (it runs only
/// where this process may mount one: root with the capability to mount).
@Suite("A full disk", .enabled(if: TmpfsProbe.canMount, "this process cannot mount a tmpfs"))
struct FullDiskTests {

    @Test func aFullDiskIsNamedOnceTheNodeExitsWithItsStatusAndResumesOnceThereIsRoom() async throws {
        let scratch = try scratchDirectory("full-disk")
        defer { scratch.remove() }
        let options = try devnetOptions(scratch.path, validators: 1, load: .seconds(8), rate: 300)
        let layout = try DevnetLayout.prepare(
            directory: options.directory, validators: options.validators, provider: options.provider)
        let store = layout.storePath(0)
        try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true)
        let mounted = try await runTool("/bin/mount", ["-t", "tmpfs", "-o", "size=320k", "tmpfs", store])
        try #require(mounted.status == 0, "\(mounted)")
        defer { _ = try? Process.run(URL(fileURLWithPath: "/bin/umount"), arguments: ["-l", store]).waitUntilExit() }

        try await withDevnet(options) { devnet in
            let process = try #require(devnet.process(0))
            _ = try await devnet.runLoad { _ in }
            let exited = await eventually(within: .seconds(60)) { !process.isRunning }
            try #require(exited, "the node exits once its disk is full: \(logTail(layout, 0, lines: 30))")
            #expect(process.exitStatus == NodeFailure.storeFailedExitCode, "\(logTail(layout, 0))")
            let log = (try? String(contentsOfFile: layout.logPath(0), encoding: .utf8)) ?? ""
            let named = log.split(separator: "\n").filter { $0.contains("node failing") }
            #expect(named.count == 1, "the cause is logged once: \(named)")
            #expect(named.first?.contains("no space left on the file system of \(store)") == true, "\(named)")

            // Room again: the node starts on its store, which checks clean, and goes on certifying,
            // accepting and executing blocks, healthy.
            let grown = try await runTool("/bin/mount", ["-o", "remount,size=64m", store])
            try #require(grown.status == 0, "\(grown)")
            let check = try await runTool(try builtExecutable("dsmr-store"), ["check", "--store", store])
            #expect(check.status == 0, "\(check)")
            try await devnet.startNode(0)
            let restarted = try #require(await nodeStatus(layout.controlSocket(0)))
            let summary = try await devnet.runLoad(duration: .seconds(2)) { _ in }
            let node = try #require(summary.nodes.first)
            #expect(summary.certificates > 0 && summary.blocks > 0, "\(summary)")
            #expect(node.executedHeight > restarted.executedHeight, "\(summary)")
            #expect(summary.rootsAgree && summary.unhealthy.isEmpty, "\(summary)")
        }
    }
}

enum TmpfsProbe {
    /// Whether a tmpfs can be mounted here (and is unmounted again at once).
    static let canMount: Bool = {
        guard geteuid() == 0 else { return false }
        let directory = NSTemporaryDirectory() + "dsmr-mount-probe-\(getpid())"
        guard (try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)) != nil
        else { return false }
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func run(_ path: String, _ arguments: [String]) -> Bool {
            guard let process = try? Process.run(URL(fileURLWithPath: path), arguments: arguments) else { return false }
            process.waitUntilExit()
            return process.terminationStatus == 0
        }
        guard run("/bin/mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", directory]) else { return false }
        return run("/bin/umount", [directory])
    }()
}
