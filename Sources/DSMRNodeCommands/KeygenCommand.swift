import ArgumentParser
import DSMR

extension NodeCommand {
    struct Keygen: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a new Ed25519 validator key file (mode 0600) and print its public key and node id.",
            discussion: "An existing file is never replaced.")

        @Argument(help: "The key file to create.")
        var path: String

        func run() throws {
            let signer = Ed25519Signer.generate()
            do {
                try signer.writeKeyFile(to: path)
            } catch {
                printError("error: \(error)")
                throw ExitCode(1)
            }
            print("publicKey \(Hex.encode(signer.publicKey))")
            print("nodeID \(signer.nodeID)")
        }
    }
}
