import ChunkStore
import DSMR
import DSMRNode
import Logging
import Metrics
import Synchronization

/// A validator's side of state sync while it runs: it signs an attestation
/// of every height it executes and gossips it, gathers its peers' into
/// certificates, keeps a snapshot every ``snapshotInterval`` heights and
/// serves the newest one whose root was certified.
///
/// A certified root that differs from the one this validator executed to
/// means its state diverged from the quorum's: that is logged as an error
/// and counted (`dsmr_state_diverged_total`), once per height.
package final class StateKeeper: StateSyncService {
    /// Heights between two kept snapshots.
    package let snapshotInterval: UInt64
    /// How many certified snapshots are kept (older ones are removed).
    package let snapshotsKept: Int
    let signer: any Signer
    let store: ChunkStore
    let domain: SigningDomain
    let rules: Rules
    let validators: any ValidatorSetProvider
    let transport: any Transport
    let stateMachine: any StateMachine
    let directory: SnapshotDirectory
    let pool: AttestationPool
    let logger: Logger
    let certifiedHeight = Gauge(label: "dsmr_state_certified_height")
    let diverged = Counter(label: "dsmr_state_diverged_total")
    let conflicts = Counter(label: "dsmr_state_conflicting_attestations_total")

    struct Served {
        var certificate: StateCertificate
        var file: SnapshotFile
    }

    struct State {
        /// The newest certified snapshot, served to peers.
        var served: Served?
        /// This validator's own roots at recent heights, to compare with certificates.
        var own: [UInt64: StateRoot] = [:]
    }

    private let state = Mutex(State())

    /// A keeper over `directory`; the newest certified snapshot kept there
    /// is served at once.
    package init(
        signer: any Signer, store: ChunkStore, domain: SigningDomain, rules: Rules,
        validators: any ValidatorSetProvider,
        transport: any Transport, stateMachine: any StateMachine, directory: SnapshotDirectory, logger: Logger,
        snapshotInterval: UInt64 = 64, snapshotsKept: Int = 2
    ) {
        self.signer = signer
        self.store = store
        self.domain = domain
        self.rules = rules
        self.validators = validators
        self.transport = transport
        self.stateMachine = stateMachine
        self.directory = directory
        self.logger = logger
        self.snapshotInterval = max(1, snapshotInterval)
        self.snapshotsKept = max(1, snapshotsKept)
        pool = AttestationPool(validators: validators, quorum: rules.quorum, domain: domain)
        loadServed()
    }

    /// The newest certificate this validator holds.
    package var latestCertificate: StateCertificate? {
        pool.latestCertificate ?? state.withLock { $0.served?.certificate }
    }

    /// The height of the snapshot served, if any.
    package var servedHeight: UInt64? { state.withLock { $0.served?.certificate.height } }

    /// Called right after `height` executed to `root` (before the next
    /// height executes): keeps a snapshot when the height is on the
    /// interval, then signs and gossips the attestation.
    package func executed(height: UInt64, root: StateRoot, timestamp: Int64) async {
        guard height > 0 else { return }
        if height % snapshotInterval == 0 { takeSnapshot(height: height, root: root) }
        state.withLock { state in
            state.own[height] = root
            if state.own.count > Int(pool.window) * 2 {
                let low = height > pool.window ? height - pool.window : 0
                state.own = state.own.filter { $0.key >= low }
            }
        }
        pool.advance(executed: height)
        let epoch = rules.epoch(at: timestamp)
        let attestation: StateAttestation
        do {
            guard let block = try store.block(at: height) else { return }
            attestation = try StateAttestation(
                height: height, blockID: block.id, root: root, epoch: epoch, signer: signer, domain: domain)
        } catch {
            logger.error("cannot sign a state attestation", metadata: ["height": "\(height)", "error": "\(error)"])
            return
        }
        take(attestation, from: nil)
        guard let set = try? validators.validators(epoch: epoch) else { return }
        let message = NodeMessage.stateAttestation(attestation).encoded()
        for validator in set.validators where validator.nodeID != signer.nodeID {
            await transport.gossip(message, to: validator.nodeID)
        }
    }

    package func receive(_ attestation: StateAttestation, from peer: NodeID) async {
        // Validators gossip only their own attestations.
        guard attestation.signer == peer else {
            transport.penalize(peer, for: .invalidMessage)
            return
        }
        take(attestation, from: peer)
    }

    package func offer() async throws(ErrorReply) -> (StateCertificate, SnapshotManifest) {
        guard let served = state.withLock({ $0.served }) else {
            throw ErrorReply(.notAvailable, "no snapshot at a certified height is kept yet")
        }
        return (served.certificate, served.file.manifest)
    }

    package func piece(height: UInt64, index: UInt32) async throws(ErrorReply) -> SnapshotPiece {
        guard let served = state.withLock({ $0.served }), served.certificate.height == height else {
            throw ErrorReply(.notAvailable, "no snapshot is served at height \(height)")
        }
        guard Int(index) < served.file.pieces.count else {
            throw ErrorReply(.invalid, "piece \(index) of \(served.file.pieces.count)")
        }
        return served.file.pieces[Int(index)]
    }

    private func take(_ attestation: StateAttestation, from peer: NodeID?) {
        let outcome: AttestationPool.Outcome
        do {
            outcome = try pool.add(attestation)
        } catch {
            if let peer, error.code == .badSignature || error.code == .unknownSigner {
                transport.penalize(peer, for: .invalidMessage)
            }
            logger.debug("attestation refused", metadata: ["from": "\(attestation.signer)", "error": "\(error)"])
            return
        }
        switch outcome {
        case .certified(let certificate):
            certified(certificate)
        case .conflict(let earlier, let later):
            conflicts.increment()
            logger.error(
                "a validator attested two roots at one height",
                metadata: [
                    "validator": "\(later.signer)", "height": "\(later.height)", "first": "\(earlier.root)",
                    "second": "\(later.root)",
                ])
        case .held, .known, .outsideWindow:
            break
        }
    }

    private func certified(_ certificate: StateCertificate) {
        certifiedHeight.record(Int64(clamping: certificate.height))
        let own = state.withLock { $0.own[certificate.height] }
        if let own, own != certificate.root {
            diverged.increment()
            logger.error(
                "this validator's state diverged: a quorum certified another root at a height it executed",
                metadata: [
                    "height": "\(certificate.height)", "certified": "\(certificate.root)", "own": "\(own)",
                ])
            return
        }
        guard certificate.height % snapshotInterval == 0 else { return }
        do {
            guard let file = try directory.snapshot(at: certificate.height), file.manifest.root == certificate.root
            else { return }
            try directory.write(certificate)
            state.withLock { $0.served = Served(certificate: certificate, file: file) }
            logger.info(
                "snapshot certified and served",
                metadata: ["height": "\(certificate.height)", "root": "\(certificate.root)"])
            prune(below: certificate.height)
        } catch {
            logger.error(
                "cannot keep the certified snapshot",
                metadata: ["height": "\(certificate.height)", "error": "\(error)"])
        }
    }

    private func takeSnapshot(height: UInt64, root: StateRoot) {
        do {
            let file = try SnapshotFile(stateMachine.snapshot(at: height))
            guard file.manifest.root == root else {
                logger.error(
                    "the state's snapshot does not have the executed root",
                    metadata: ["height": "\(height)", "root": "\(root)", "snapshot": "\(file.manifest.root)"])
                return
            }
            try directory.write(file)
        } catch {
            logger.error("cannot take a snapshot", metadata: ["height": "\(height)", "error": "\(error)"])
        }
    }

    /// Keeps the newest ``snapshotsKept`` certified snapshots and removes
    /// uncertified ones below the newest certified.
    private func prune(below newest: UInt64) {
        let certified = Set(directory.certifiedHeights())
        let keep = Set(certified.sorted().suffix(snapshotsKept))
        for height in Set(directory.snapshotHeights()).union(certified) where height < newest && !keep.contains(height)
        {
            directory.remove(height)
        }
    }

    private func loadServed() {
        let limits = DecodingLimits(rules: rules)
        for height in directory.certifiedHeights().reversed() {
            guard let certificate = try? directory.certificate(at: height, limits: limits),
                let file = try? directory.snapshot(at: height), file.manifest.root == certificate.root,
                let set = try? validators.validators(epoch: certificate.epoch),
                (try? certificate.verify(validators: set, quorum: rules.quorum, domain: domain)) != nil
            else {
                logger.warning(
                    "a kept snapshot or its certificate does not verify; not served", metadata: ["height": "\(height)"])
                continue
            }
            state.withLock { $0.served = Served(certificate: certificate, file: file) }
            return
        }
    }
}
