import DSMRNodeRuntime

/// How a `dsmr-byzantine` validator misbehaves.
enum ByzantineBehaviour: String, CaseIterable, Sendable {
    /// Answers request ids it did not get on the connections honest
    /// validators open to it (error replies for the ids after each one it
    /// sees), hoping to complete their requests to others.
    case answerOthers = "answer-others"
    /// Never answers a share or chunk request, and gossips nothing.
    case withhold
    /// Answers share requests with shares whose signatures are wrong, chunk
    /// requests with damaged chunks, and gossips certificates with wrong signatures.
    case invalidSignatures = "invalid-signatures"
    /// Sends far-future and overflowing values: chunks at the last slots,
    /// requests with extreme expiries, certificates of extreme epochs, and
    /// blocks (when asked to build one) with such certificates or timestamps.
    case farFuture = "far-future"
    /// Opens connections to each validator and sends requests as fast as it
    /// can without ever reading the answers.
    case flood
    /// Signs two different chunks for each slot and asks half of the
    /// validators to sign one and half the other.
    case equivocate
    /// Honest, but for some seconds from its first share request
    /// (`DSMR_ISOLATED_SECONDS`, 3 by default) none of its share requests
    /// reaches a peer, as if its links were down: run as every validator, every producer's first slots fail
    /// to certify, and the chain must go on afterwards.
    case isolatedStart = "isolated-start"
    /// With its own etcd credentials, publishes attempts that must not
    /// verify at the next height and the two after it as soon as its node
    /// accepts a block, racing the leader
    /// (``EtcdAttack/publishInvalidAttempts(_:_:domain:sign:)``).
    case etcdInvalid = "etcd-invalid"
    /// With its own etcd credentials, wins the election and holds the
    /// leadership without ever proposing or resigning.
    case etcdSquat = "etcd-squat"
    /// With its own etcd credentials, writes over the attempts below its
    /// node's tip with other blocks that verify, and deletes older ones.
    case etcdRewrite = "etcd-rewrite"
    /// Serves state sync badly: it offers the certified snapshot it keeps,
    /// then answers for its pieces and for blocks with a byte changed (an
    /// honest validator otherwise, so its peers keep it until it is caught).
    case badSnapshots = "bad-snapshots"

    /// The changes this behaviour makes to a real validator.
    var customization: NodeCustomization {
        var customization = NodeCustomization()
        switch self {
        case .answerOthers:
            customization.adjustConfiguration = AnswerOthers.moveListener
            customization.whileRunning = { runner in await AnswerOthers(runner).run() }
        case .withhold, .invalidSignatures, .isolatedStart, .badSnapshots:
            let behaviour = self
            customization.wrapTransport = { ByzantineTransport(wrapping: $0, behaviour: behaviour) }
        case .farFuture:
            customization.alterBuiltBlock = FarFuture.alter
            customization.whileRunning = { runner in await FarFuture(runner).run() }
        case .flood:
            customization.whileRunning = { runner in await Flood(runner).run() }
        case .equivocate:
            customization.whileRunning = { runner in await Equivocation(runner).run() }
        case .etcdInvalid:
            customization.whileRunning = { runner in await EtcdAttack(runner, .invalid).run() }
        case .etcdSquat:
            customization.whileRunning = { runner in await EtcdAttack(runner, .squat).run() }
        case .etcdRewrite:
            customization.whileRunning = { runner in await EtcdAttack(runner, .rewrite).run() }
        }
        return customization
    }
}
