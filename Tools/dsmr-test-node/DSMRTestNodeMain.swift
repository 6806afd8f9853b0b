import DSMRNodeCommands
import KeyValueMachine

/// `dsmr-test-node`: the node command line (keygen, run, devnet, replay)
/// with the test-only key-value state machine in place of DemoVM. The tests
/// run it to show the runtime, the devnet and replay take any state machine.
@main
enum DSMRTestNodeMain {
    static func main() async {
        await NodeCommandLine.main(commandName: "dsmr-test-node", provider: KeyValueProvider())
    }
}
