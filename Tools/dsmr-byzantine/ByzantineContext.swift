import DSMR
import DSMRNodeRuntime
import Foundation
import Synchronization

/// What an attack needs to know of the validator it runs in: its key, its
/// chain, and where the other validators listen.
struct ByzantineContext: Sendable {
    let runner: NodeRunner
    let signer: Ed25519Signer
    let domain: SigningDomain
    let rules: Rules
    /// The other validators and their addresses.
    let peers: [(nodeID: NodeID, host: String, port: Int)]

    init?(_ runner: NodeRunner) {
        guard let validated = try? runner.configuration.validated() else { return nil }
        self.runner = runner
        signer = validated.signer
        domain = validated.domain
        rules = validated.rules
        peers = validated.members.filter { $0.validator.nodeID != validated.signer.nodeID }.map {
            ($0.validator.nodeID, $0.endpoint.host, $0.endpoint.port)
        }
    }

    /// Runs `body` on a thread of its own, over and over, until the node stops.
    func repeatOnThread(_ name: String, _ body: @escaping @Sendable () -> Void) async {
        let flag = StopFlag()
        let thread = Thread {
            while !flag.isSet { body() }
        }
        thread.name = name
        thread.start()
        while !Task.isCancelled, !runner.isStopping { try? await Task.sleep(for: .milliseconds(100)) }
        flag.set()
    }

    /// The wall clock in milliseconds since 1970.
    var now: Int64 { Int64(Date().timeIntervalSince1970 * 1_000) }
}

/// A stop flag a thread can hold.
final class StopFlag: Sendable {
    private let stop = Atomic(false)
    var isSet: Bool { stop.load(ordering: .relaxed) }
    func set() { stop.store(true, ordering: .relaxed) }
}
