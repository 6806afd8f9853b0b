import ArgumentParser

/// `dsmr-node`: runs one validator, or a local devnet of them.
@main
struct DSMRNodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dsmr-node",
        abstract: "Run a DSMR validator, or a local devnet of validators on 127.0.0.1.",
        subcommands: [Keygen.self, Run.self, Devnet.self],
        defaultSubcommand: nil)
}
