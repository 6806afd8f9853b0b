import DSMRNodeCommands
import DemoVM
import Foundation

/// `dsmr-byzantine`: a DemoVM validator that misbehaves, for tests only.
///
/// It takes the same subcommands as `dsmr-node`; `run` reads the behaviour
/// from the `DSMR_BYZANTINE` environment variable (see ``ByzantineBehaviour``)
/// and runs a real validator with its key that misbehaves that way. A devnet
/// starts one of its validators with it to show the others keep certifying,
/// ordering and executing.
@main
enum ByzantineMain {
    static func main() async {
        let name = ProcessInfo.processInfo.environment["DSMR_BYZANTINE"] ?? ""
        guard let behaviour = ByzantineBehaviour(rawValue: name) else {
            let known = ByzantineBehaviour.allCases.map(\.rawValue).joined(separator: ", ")
            FileHandle.standardError.write(Data("DSMR_BYZANTINE must be one of: \(known)\n".utf8))
            exit(2)
        }
        await NodeCommandLine.main(
            commandName: "dsmr-byzantine", provider: DemoProvider(), customization: behaviour.customization)
    }
}
