import ArgumentParser
import DSMRNode
import DSMRNodeRuntime
import Synchronization

/// The command line of a node binary: `keygen`, `run`, `devnet` and
/// `replay`, over one state machine.
///
/// `dsmr-node` is this command line with DemoVM. A chain that brings its
/// own state machine builds its own binary with one call:
///
/// ```swift
/// @main enum MyChainNode {
///     static func main() async { await NodeCommandLine.main(commandName: "mychain-node", provider: MyProvider()) }
/// }
/// ```
public enum NodeCommandLine {
    struct Choice: Sendable {
        var commandName: String
        var provider: any StateMachineProvider
        var customization = NodeCustomization()
    }

    private static let choice = Mutex<Choice?>(nil)

    /// Parses the process's arguments and runs the subcommand with
    /// `provider`'s state machine; exits the process with its status.
    public static func main(commandName: String, provider: any StateMachineProvider) async {
        await main(commandName: commandName, provider: provider, customization: NodeCustomization())
    }

    /// ``main(commandName:provider:)`` whose `run` changes the node's
    /// behaviour, for tests only (the Byzantine peer harness).
    package static func main(
        commandName: String, provider: any StateMachineProvider, customization: NodeCustomization
    ) async {
        choice.withLock { $0 = Choice(commandName: commandName, provider: provider, customization: customization) }
        await NodeCommand.main()
    }

    /// The changes `run` makes to the node (none but in the Byzantine harness).
    static var customization: NodeCustomization { choice.withLock { $0?.customization } ?? NodeCustomization() }

    /// The binary's name, for help and messages.
    static var commandName: String { choice.withLock { $0?.commandName } ?? "dsmr-node" }

    /// The state machine the binary runs.
    static var provider: any StateMachineProvider {
        guard let provider = choice.withLock({ $0?.provider }) else {
            preconditionFailure("NodeCommandLine.main(commandName:provider:) starts the command line")
        }
        return provider
    }
}

/// The root command: runs one validator, or a local devnet of them.
struct NodeCommand: AsyncParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: NodeCommandLine.commandName,
            abstract: "Run a DSMR validator, or a local devnet of validators on loopback.",
            subcommands: [Keygen.self, Run.self, Devnet.self, Replay.self],
            defaultSubcommand: nil)
    }
}
