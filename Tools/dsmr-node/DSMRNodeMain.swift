import DSMRNodeCommands
import DemoVM

/// `dsmr-node`: runs one DemoVM validator, or a local devnet of them.
@main
enum DSMRNodeMain {
    static func main() async {
        await NodeCommandLine.main(commandName: "dsmr-node", provider: DemoProvider())
    }
}
