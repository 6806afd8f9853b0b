import DSMR
import Synchronization

/// Gathers validators' ``StateAttestation``s near the local executed height
/// and makes a ``StateCertificate`` once a quorum of stake attests one root.
///
/// Bounded whatever peers send: only heights within ``window`` of the local
/// executed height are held (at most `2 × window + 1` heights), and one
/// attestation per validator per height. A validator that attests two roots
/// at one height is reported as ``Outcome/conflict(_:_:)``: the pair is
/// evidence, since honest execution is deterministic.
public final class AttestationPool: Sendable {
    /// What adding an attestation did.
    public enum Outcome: Hashable, Sendable {
        /// Held; no quorum behind its root yet.
        case held
        /// Its root reached a quorum at its height: the new certificate.
        case certified(StateCertificate)
        /// Already held, or its height is certified already.
        case known
        /// Outside the window around the local executed height; dropped.
        case outsideWindow
        /// The same validator attested another root at this height before:
        /// the earlier attestation and this one.
        case conflict(StateAttestation, StateAttestation)
    }

    struct Height {
        var bySigner: [NodeID: StateAttestation] = [:]
        var certificate: StateCertificate?
    }

    struct State {
        var executed: UInt64 = 0
        var heights: [UInt64: Height] = [:]
        var latest: StateCertificate?
    }

    /// How many heights either side of the local executed height are held.
    public let window: UInt64
    let validators: any ValidatorSetProvider
    let quorum: Quorum
    let domain: SigningDomain
    private let state = Mutex(State())

    /// A pool judging attestations by `validators`' sets and `quorum`.
    public init(validators: any ValidatorSetProvider, quorum: Quorum, domain: SigningDomain, window: UInt64 = 128) {
        self.validators = validators
        self.quorum = quorum
        self.domain = domain
        self.window = window
    }

    /// Moves the window to the local executed height, dropping heights below it.
    public func advance(executed height: UInt64) {
        state.withLock { state in
            guard height > state.executed else { return }
            state.executed = height
            let low = height > window ? height - window : 0
            state.heights = state.heights.filter { $0.key >= low }
        }
    }

    /// The highest height certified while this pool ran.
    public var latestCertificate: StateCertificate? { state.withLock { $0.latest } }

    /// Checks `attestation` and holds it.
    ///
    /// - Throws: ``StateSyncError`` when its epoch's set is unknown, its
    ///   signer is not in it, or the signature does not verify.
    public func add(_ attestation: StateAttestation) throws(StateSyncError) -> Outcome {
        // Decided before any signature is checked, so attestations sent again and again, or for
        // heights certified already, cost a lookup and not a verification.
        let early: Outcome? = state.withLock { state in
            let low = state.executed > window ? state.executed - window : 0
            let (high, overflow) = state.executed.addingReportingOverflow(window)
            guard attestation.height >= low && (overflow || attestation.height <= high) else { return .outsideWindow }
            guard let entry = state.heights[attestation.height] else { return nil }
            if entry.certificate != nil || entry.bySigner[attestation.signer] == attestation { return .known }
            return nil
        }
        if let early { return early }
        let set: ValidatorSet
        do {
            set = try validators.validators(epoch: attestation.epoch)
        } catch {
            throw StateSyncError(.wrongEpoch, "no validator set for epoch \(attestation.epoch): \(error)")
        }
        try attestation.verify(validators: set, domain: domain)
        return state.withLock { state in
            var entry = state.heights[attestation.height] ?? Height()
            if entry.certificate != nil { return .known }
            if let earlier = entry.bySigner[attestation.signer] {
                return earlier == attestation ? .known : .conflict(earlier, attestation)
            }
            entry.bySigner[attestation.signer] = attestation
            let agreeing = entry.bySigner.values.filter {
                $0.root == attestation.root && $0.blockID == attestation.blockID && $0.epoch == attestation.epoch
            }
            let weight = agreeing.reduce(UInt64(0)) { $0 + (set.validator($1.signer)?.weight ?? 0) }
            if set.hasQuorum(signedWeight: weight, quorum: quorum),
                let certificate = try? StateCertificate.aggregate(
                    Array(agreeing), validators: set, quorum: quorum, domain: domain, checkSignatures: false)
            {
                entry.certificate = certificate
                entry.bySigner = [:]
                state.heights[attestation.height] = entry
                if certificate.height > state.latest?.height ?? 0 || state.latest == nil { state.latest = certificate }
                return .certified(certificate)
            }
            state.heights[attestation.height] = entry
            return .held
        }
    }
}
