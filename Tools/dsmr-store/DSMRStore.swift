import ArgumentParser
import Foundation

/// `dsmr-store`: inspect, check and maintain a chunk store.
///
/// Exit codes: 0 ok, 1 usage or I/O error, 2 damage found.
@main
struct DSMRStore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dsmr-store",
        abstract: "Inspect, check and maintain a DSMR chunk store.",
        discussion: """
            Read-only commands (stats, ls, show, check, evidence, export-signing-history, dump, replay) work on a live \
            store beside the node. Commands that change a store (gc, recover, import-signing-history) \
            refuse to run while a node holds it and say which process does; compact, load and \
            recover -o write to a new directory and never touch the source.

            Output files and directories (dump, export-signing-history -o, compact, recover -o, load) are never \
            written inside a store's directory; files get mode 0600 and replace an existing file only with \
            --force; a store is never replaced.

            Exit codes: 0 ok, 1 usage or I/O error, 2 damage found.
            """,
        subcommands: [
            Stats.self, List.self, Show.self, Check.self, CollectGarbage.self, Compact.self, Recover.self,
            Evidence.self, ExportSigningHistory.self, ImportSigningHistory.self, Dump.self, Load.self,
            Replay.self, ReadTable.self,
        ])

    /// Runs the command, mapping every failure onto the tool's exit codes:
    /// 0 ok (and help), 1 usage or I/O error, 2 damage found.
    static func main() async {
        if let status = IsolatedRun.superviseIfNeeded() { Foundation.exit(status) }
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            if code.rawValue == 2 { Foundation.exit(2) }
            if let damage = ToolFailure.damage(error) {
                damage.print(json: ToolFailure.jsonRequested)
                Foundation.exit(damage.status)
            }
            let message = fullMessage(for: error)
            if !message.isEmpty { printError(message) }
            Foundation.exit(1)
        }
    }
}
