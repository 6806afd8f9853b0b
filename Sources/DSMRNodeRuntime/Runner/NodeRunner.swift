import ChunkStore
import DSMR
import DSMRNetwork
import DSMRNode
import DSMROrdering
import Foundation
import Logging
import Metrics
import Synchronization

/// One validator as a process: its store, its state machine's state, TCP
/// transport, node core, control socket and chunk-building loop, from a
/// ``NodeConfiguration`` and the chain's `StateMachineProvider`.
///
/// ``init(_:stateMachine:logger:)`` opens everything; ``run()`` builds chunks until ``stop()``,
/// then shuts down in order: the control socket, the chunk loop, the
/// transport (finishing work in hand), then the state and the store.
public final class NodeRunner: Sendable {
    struct Counters {
        var chunksBuilt: UInt64 = 0
        var chunksCertified: UInt64 = 0
        var blocksAccepted: UInt64 = 0
        var transactionsExecuted: UInt64 = 0
    }

    final class CounterBox: Sendable {
        private let value = Mutex(Counters())
        func withLock<T>(_ body: (inout Counters) -> T) -> T { value.withLock { body(&$0) } }
    }

    /// The environment variable that turns TLS off between validators, for
    /// measuring what TLS costs only (`dsmr-bench`'s `devnet-plaintext` row
    /// sets it to `1` on every node of its devnet). It is deliberately not a
    /// field of the configuration file: a validator run with it lets anyone
    /// on the path read, change and inject its frames.
    public static let plaintextLinksVariable = "DSMR_PLAINTEXT_LINKS_FOR_MEASUREMENT_ONLY"

    /// TLS, unless ``plaintextLinksVariable`` is `1`.
    static func linkSecurity() -> LinkSecurity {
        ProcessInfo.processInfo.environment[plaintextLinksVariable] == "1" ? .plaintextForMeasurementOnly : .tls
    }

    /// The configuration, with absolute paths.
    public let configuration: NodeConfiguration
    /// The node core.
    public let node: Node
    /// The peer transport.
    public let transport: TCPTransport
    /// The state machine the node executes through.
    public let stateMachine: any StateMachine
    let assembler: ReportingAssembler
    /// Attestations, certified roots and the snapshots served to peers.
    let stateKeeper: StateKeeper
    /// What state sync did when the node started with a new store; nil when it did not run or found no snapshot.
    package let stateSynced: StateSync.Outcome?
    /// Asks peers for their certified heights when the node cannot execute past a height beyond the catch-up horizon.
    let horizonProbe: StateSync
    /// How long (ms) peers keep accepted chunks past their expiry, as this node does.
    let acceptedRetention: Int64
    let set: ValidatorSet
    let logger: Logger
    let metrics = NodeMetrics()
    let peerMetrics = PeerMetrics()
    let monitor: HealthMonitor
    let failure = Mutex<NodeFailure?>(nil)
    let counters = CounterBox()
    /// When this node's chunks were certified, until a block carries them.
    let certifiedAt = CertifiedChunks()
    /// Acceptance and the other work on the chain, one at a time.
    let serial = AsyncSerial()
    /// Execution of accepted blocks, one run at a time (`NodeRunner+Execution`).
    let execution = AsyncSerial()
    let executionBacklog = ExecutionBacklog()
    let stopping = Mutex(false)
    let stopped = Mutex<[CheckedContinuation<Void, Never>]?>([])
    let control = Mutex<ControlServer?>(nil)
    let chunkInterval: Duration
    let customization: NodeCustomization
    /// The ordering the node follows itself; nil when it is driven over its control socket.
    let ordering: (any Ordering)?

    /// Opens the store (taking its writer lock: a second node on the same
    /// store is refused with the holder named), the state through
    /// `provider` (from the configured genesis file), and the transport,
    /// listening on the configured address.
    ///
    /// - Throws: ``ConfigurationError`` for a bad setting or an unreadable
    ///   genesis file; the store's, state machine's, key file's or
    ///   transport's errors.
    public convenience init(
        _ configuration: NodeConfiguration, stateMachine provider: any StateMachineProvider, logger: Logger
    ) async throws {
        try await self.init(configuration, stateMachine: provider, logger: logger, customization: NodeCustomization())
    }

    /// ``init(_:stateMachine:logger:)`` with test-only changes to the node's behaviour.
    package init(
        _ configuration: NodeConfiguration, stateMachine provider: any StateMachineProvider, logger: Logger,
        customization: NodeCustomization
    ) async throws {
        let configuration = customization.adjustConfiguration?(configuration) ?? configuration
        self.configuration = configuration
        self.customization = customization
        self.logger = logger
        monitor = HealthMonitor(logger: logger)
        let validated = try configuration.validated()
        let rules = validated.rules
        let domain = validated.domain
        let signer = validated.signer
        set = validated.validators
        let genesis: [UInt8]
        do {
            genesis = Array(try Data(contentsOf: URL(fileURLWithPath: configuration.genesis)))
        } catch {
            throw ConfigurationError("cannot read the genesis file \(configuration.genesis): \(error)")
        }
        chunkInterval = validated.chunkInterval
        var storeConfiguration = StoreConfiguration(
            path: configuration.store, networkID: domain.networkID, chainID: domain.chainID, nodeID: signer.nodeID,
            rules: rules)
        storeConfiguration.signer = signer
        if let retention = configuration.acceptedRetention { storeConfiguration.acceptedRetention = retention }
        acceptedRetention = storeConfiguration.acceptedRetention
        // A peer that syncs from a snapshot this node serves fetches the snapshot's block and its
        // ancestors back through the validity window: blocks are kept that much longer than chunks,
        // so a snapshot up to acceptedRetention old can still be had whole.
        storeConfiguration.blockRetention = Self.blockRetention(
            acceptedRetention: storeConfiguration.acceptedRetention, rules: rules)
        if let etcd = validated.etcd {
            var options = etcd.options
            // The log keeps at least the heights the node keeps blocks for, at one block per slot.
            let kept = storeConfiguration.blockRetention ?? storeConfiguration.acceptedRetention
            options.retainHeights = max(options.retainHeights, UInt64(max(0, kept / max(1, rules.slotDuration))))
            do {
                ordering = try EtcdOrdering(
                    endpoints: etcd.endpoints, prefix: EtcdOrdering.prefix(for: domain), signer: signer, domain: domain,
                    validators: Dictionary(
                        validated.validators.validators.map { (NodeID(publicKey: $0.publicKey), $0.publicKey) },
                        uniquingKeysWith: { first, _ in first }),
                    options: options, security: etcd.security, logger: logger)
            } catch let error as EtcdError {
                throw ConfigurationError("etcd: \(error.message)")
            }
        } else {
            ordering = nil
        }
        try FileManager.default.createDirectory(atPath: configuration.store, withIntermediateDirectories: true)
        var store = try ChunkStore(storeConfiguration)
        if let problem = StoreContinuity.problem(in: store) {
            store = try await Self.replace(
                store, because: problem, configuration: configuration, storeConfiguration: storeConfiguration,
                logger: logger)
        }
        let context = StateMachineContext(
            directory: configuration.state, genesis: genesis, domain: domain, rules: rules)
        var machine: any StateMachine
        do {
            machine = try provider.open(context)
        } catch {
            // A state whose files cannot be opened (damaged, cut short) while a new one can is
            // moved aside with the store, and the node comes back through state sync; a state
            // that cannot be opened even new (a bad genesis) is the configuration's fault.
            do {
                guard Self.freshStateOpens(provider, context) else { throw error }
                store = try await Self.replace(
                    store, because: "its state cannot be opened: \(error)", configuration: configuration,
                    storeConfiguration: storeConfiguration, logger: logger)
                machine = try provider.open(context)
            } catch {
                store.close()
                throw error
            }
        }
        let schedule = ValidatorSchedule(initial: set.validators, rules: rules)
        var transportConfiguration = TCPTransportConfiguration(
            signer: signer, domain: domain, limits: DecodingLimits(rules: rules)
        ) { [set] in set }
        transportConfiguration.host = validated.listen.host
        transportConfiguration.port = validated.listen.port
        // A validator listening on one address dials from it too, so its peers see it
        // arrive from the address they have configured for it (validators' addresses
        // keep handshake slots of their own).
        if !["0.0.0.0", "::", "[::]", ""].contains(validated.listen.host) {
            transportConfiguration.dialFrom = validated.listen.host
        }
        transportConfiguration.logger = logger
        transportConfiguration.linkSecurity = Self.linkSecurity()
        do {
            transport = try await TCPTransport(transportConfiguration)
        } catch {
            machine.close()
            store.close()
            throw ConfigurationError("cannot listen on \(validated.listen): \(error)")
        }
        for (validator, endpoint) in validated.members where validator.nodeID != signer.nodeID {
            transport.setAddress(host: endpoint.host, port: endpoint.port, of: validator.nodeID)
        }
        var options = NodeOptions()
        options.genesisTime = .milliseconds(configuration.genesisTime)
        options.shareTimeout = .seconds(1)
        options.aggregationDeadline = .seconds(3)
        options.fetchTimeout = .seconds(1)
        let counters = self.counters
        let metrics = self.metrics
        let peerTransport = customization.wrapTransport?(transport) ?? transport
        do {
            func stateSync() -> StateSync {
                StateSync(
                    local: signer.nodeID, transport: peerTransport, validators: schedule, rules: rules, domain: domain,
                    store: store, stateMachine: machine, logger: logger)
            }
            let now = SystemClock().now().milliseconds
            // A store whose tip is beyond the catch-up horizon cannot count on its peers still holding
            // the chunks of the blocks after it: moved aside, it comes back through state sync.
            if let tip = try store.acceptedTip(), tip.height > 0,
                let executed = try store.block(at: try store.executedTip() ?? 0),
                CatchUpHorizon.isBeyond(
                    tipTimestamp: executed.timestamp, now: now, acceptedRetention: storeConfiguration.acceptedRetention),
                let offered = await stateSync().newestReachableHeight(now: now), offered > executed.height
            {
                machine.close()
                store = try await Self.replace(
                    store,
                    because:
                        "its executed state (height \(executed.height), \((now - executed.timestamp) / 1_000) s old) is beyond the catch-up horizon "
                        + "(3/4 of acceptedRetention, \(storeConfiguration.acceptedRetention / 4 * 3 / 1_000) s) and the peers "
                        + "offer a certified state at height \(offered) with the blocks below it",
                    configuration: configuration, storeConfiguration: storeConfiguration, logger: logger)
                machine = try provider.open(context)
            }
            // A store that is new, or holds nothing past genesis, gains nothing from replaying the
            // chain: it takes the newest certified state when a peer offers one.
            if try (store.acceptedTip()?.height ?? 0) == 0 {
                let sync = stateSync()
                do {
                    stateSynced = try await sync.run(now: SystemClock().now().milliseconds)
                } catch {
                    stateSynced = nil
                    logger.error(
                        "state sync failed; starting from genesis and catching up from the ordered log",
                        metadata: ["error": "\(error)"])
                }
            } else {
                stateSynced = nil
            }
            let assembler = ReportingAssembler(machine) { count in
                counters.withLock { $0.transactionsExecuted += UInt64(count) }
                metrics.transactionsExecuted.increment(by: count)
            }
            self.assembler = assembler
            node = try await Node(
                signer: signer, store: store, transport: peerTransport,
                validators: schedule, clock: SystemClock(),
                assembler: assembler, options: options)
            horizonProbe = stateSync()
            stateKeeper = StateKeeper(
                signer: signer, store: store, domain: domain, rules: rules, validators: schedule,
                transport: node.transport,
                stateMachine: machine,
                directory: try SnapshotDirectory(path: Self.snapshotDirectory(state: configuration.state)),
                logger: logger, snapshotInterval: configuration.snapshotInterval ?? 64,
                snapshotsKept: configuration.snapshotsKept ?? 2)
        } catch {
            await transport.shutdown(within: .seconds(1))
            machine.close()
            store.close()
            throw error
        }
        stateMachine = machine
        if let synced = stateSynced {
            let opens = rules.slotStart(synced.signingFloor)
            let wait = max(0, opens - SystemClock().now().milliseconds)
            logger.notice(
                "state synced from a new store: this validator signs and builds no chunk of a slot before the floor, since it may have signed those before it lost its store",
                metadata: [
                    "height": "\(synced.height)", "signingFloor": "\(synced.signingFloor)",
                    "opensInSeconds": "\(wait / 1_000)",
                ])
        }
        let keeper = stateKeeper
        node.serveStateSync(keeper)
        assembler.whenExecuted { height, root, timestamp in
            await keeper.executed(height: height, root: root, timestamp: timestamp)
        }
    }

    /// Moves a store that cannot go on (see ``StoreContinuity``) and the
    /// state beside it aside, keeping both for inspection, and opens a new
    /// empty store whose signing floor is above every slot the old one
    /// signed or closed, where that can still be read: the node then comes
    /// back through state sync, which raises the floor further.
    static func replace(
        _ store: ChunkStore, because problem: String, configuration: NodeConfiguration,
        storeConfiguration: StoreConfiguration, logger: Logger
    ) async throws -> ChunkStore {
        let signed = try? store.highestSignedSlot()
        let closed = try? store.signingFloor()
        store.close()
        let suffix = "replaced-\(SystemClock().now().milliseconds)"
        let manager = FileManager.default
        try manager.moveItem(atPath: configuration.store, toPath: "\(configuration.store).\(suffix)")
        if manager.fileExists(atPath: configuration.state) {
            try manager.moveItem(atPath: configuration.state, toPath: "\(configuration.state).\(suffix)")
        }
        // try? flattens: nil when unreadable or, for the signed slots, when none was signed.
        let carried = [signed.map { $0 &+ 1 }, closed].compactMap { $0 }.max()
        logger.critical(
            "the store cannot go on; it and the state are moved aside and the node comes back through state sync",
            metadata: [
                "problem": "\(problem)", "movedTo": "\(configuration.store).\(suffix)",
                "signingFloor":
                    "\(carried.map { "\($0), from the old store" } ?? "unreadable in the old store; state sync sets it")",
            ])
        try manager.createDirectory(atPath: configuration.store, withIntermediateDirectories: true)
        let fresh = try ChunkStore(storeConfiguration)
        if let carried { try await fresh.raiseSigningFloor(to: carried) }
        return fresh
    }

    /// Whether `provider` opens a new state for `context` in a scratch
    /// directory beside the configured one (removed after).
    static func freshStateOpens(_ provider: any StateMachineProvider, _ context: StateMachineContext) -> Bool {
        let scratch = "\(context.directory).probe-\(SystemClock().now().milliseconds)"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var probe = context
        probe.directory = scratch
        guard let machine = try? provider.open(probe) else { return false }
        machine.close()
        return true
    }

    /// How long (ms) a validator keeps accepted blocks past chain time:
    /// `acceptedRetention` plus the validity window (saturating), so the
    /// ancestors a syncing peer needs below any snapshot it may be offered
    /// within `acceptedRetention` are still held.
    package static func blockRetention(acceptedRetention: Int64, rules: Rules) -> Int64 {
        let (sum, overflow) = max(0, acceptedRetention).addingReportingOverflow(max(0, rules.validityWindow))
        return overflow ? .max : sum
    }

    /// Where a validator keeps its snapshots: `snapshots` beside its state's directory.
    package static func snapshotDirectory(state: String) -> String {
        let trimmed = state.hasSuffix("/") ? String(state.dropLast()) : state
        guard let slash = trimmed.lastIndex(of: "/") else { return "snapshots" }
        return String(trimmed[..<slash]) + "/snapshots"
    }

    /// Starts the control socket, then builds chunks until ``stop()``, then shuts down.
    public func run() async throws {
        let server = try await ControlServer(path: configuration.controlSocket) { [self] request in
            await self.handle(request)
        }
        control.withLock { $0 = server }
        logger.info(
            "node running",
            metadata: [
                "node": "\(node.nodeID)", "port": "\(transport.port)", "control": "\(configuration.controlSocket)",
                "height": "\(node.lastAccepted.height)",
            ])
        // Blocks accepted before a restart whose chunks could not be had yet.
        await execution.run { _ = try? await node.executePending() }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.buildChunks() }
            group.addTask { await self.executeLeftovers() }
            if let whileRunning = customization.whileRunning { group.addTask { await whileRunning(self) } }
            if let ordering { group.addTask { await ordering.run(self) } }
            await self.waitUntilStopped()
            group.cancelAll()
        }
        await shutdown()
        if let failure = failure.withLock({ $0 }) { throw failure }
    }

    /// Whether the node can do its work now, and if not, why.
    public var health: NodeHealth { monitor.health }

    /// Handles `error` from `area`: a store that refuses writes stops the
    /// node (it must not sign what it cannot store), with the cause named
    /// once; anything else is recorded as `area`'s problem.
    func trouble(_ area: HealthMonitor.Area, _ error: any Error, _ context: String) {
        if StorageDiagnosis.storeFailed(error) {
            // The first failure is the cause; what fails after it (the store refuses every write) is not news.
            let cause = StorageDiagnosis.explain(error, path: configuration.store)
            let first = failure.withLock { failure -> Bool in
                guard failure == nil else { return false }
                failure = NodeFailure(
                    exitCode: NodeFailure.storeFailedExitCode,
                    message: "the store cannot be written (\(context)): \(cause); stopping, to be restarted "
                        + "once the cause is gone")
                return true
            }
            guard first else { return }
            monitor.report(.store, .failing, "\(context): \(cause)")
            stop()
        } else {
            monitor.report(area, .degraded, "\(context): \(error)")
        }
    }

    /// Asks ``run()`` to stop; returns at once.
    public func stop() {
        let waiters = stopped.withLock { waiters in
            defer { waiters = nil }
            return waiters ?? []
        }
        stopping.withLock { $0 = true }
        for waiter in waiters { waiter.resume() }
    }

    package var isStopping: Bool { stopping.withLock { $0 } }

    private func waitUntilStopped() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let already = stopped.withLock { waiters -> Bool in
                guard waiters != nil else { return true }
                waiters!.append(continuation)
                return false
            }
            if already { continuation.resume() }
        }
    }

    private func shutdown() async {
        if let server = control.withLock({ $0 }) { await server.close() }
        await transport.shutdown(within: .seconds(5))
        await serial.run {
            await execution.run {
                stateMachine.close()
                node.closeStore()
            }
        }
        logger.info("node stopped", metadata: ["node": "\(node.nodeID)"])
    }

    /// Builds a chunk whenever the mempool has transactions for this node, at most one per slot.
    private func buildChunks() async {
        while !Task.isCancelled, !isStopping {
            if node.mempool.count > 0 {
                do {
                    if let built = try await node.buildChunk() {
                        metrics.chunksBuilt.increment()
                        for wait in built.mempoolWaits { metrics.mempoolWait.record(wait) }
                        metrics.buildTime.record(built.buildTime)
                        if let certificate = built.certificate {
                            metrics.chunksCertified.increment()
                            metrics.certifyTime.record(built.certifyTime)
                            certifiedAt.certified(certificate.reference.chunkID)
                        } else {
                            metrics.chunksUncertified.increment()
                            logger.notice(
                                "chunk not certified by the deadline",
                                metadata: ["slot": "\(built.chunk.slot)", "weight": "\(built.signedWeight)"])
                        }
                        counters.withLock {
                            $0.chunksBuilt += 1
                            if built.certificate != nil { $0.chunksCertified += 1 }
                        }
                    }
                } catch {
                    metrics.chunkErrors.increment()
                    if StorageDiagnosis.storeFailed(error) {
                        trouble(.store, error, "cannot store a chunk")
                    } else {
                        logger.warning("cannot build a chunk", metadata: ["error": "\(error)"])
                    }
                }
            }
            metrics.mempool.record(node.mempool.count)
            try? await Task.sleep(for: chunkInterval)
        }
    }

    /// Retries executing accepted blocks whose chunks could not be fetched at acceptance.
    private func executeLeftovers() async {
        var lastProbe = ContinuousClock.now
        while !Task.isCancelled, !isStopping {
            try? await Task.sleep(for: .milliseconds(500))
            _ = try? status()  // keeps the height and size gauges current
            peerMetrics.record(from: transport)
            guard let executed = try? node.executedTip(), executed < node.lastAccepted.height else {
                monitor.clear(.execution)
                continue
            }
            await execution.run {
                do {
                    try await node.executePending()
                    if let executed = try? node.executedTip(), executed >= node.lastAccepted.height {
                        monitor.clear(.execution)
                    }
                } catch {
                    trouble(.execution, error, "cannot execute the blocks after height \(executed)")
                }
            }
            if let still = try? node.executedTip(), still == executed, still < node.lastAccepted.height,
                ContinuousClock.now - lastProbe >= .seconds(5)
            {
                lastProbe = .now
                await stopIfBeyondHorizon(executed: still)
            }
        }
    }

    /// Stops the node with ``NodeFailure/stateSyncNeededExitCode`` when the
    /// block at its executed height `executed`, which it cannot execute
    /// past, is beyond the catch-up horizon while the peers offer a
    /// certified state above it with the blocks below it (a sync can be
    /// had): the chunks it waits on may be gone from every peer.
    /// Restarted, it moves its store aside and comes back through state sync.
    func stopIfBeyondHorizon(executed: UInt64) async {
        let now = SystemClock().now().milliseconds
        guard let block = try? node.acceptedBlock(at: executed),
            CatchUpHorizon.isBeyond(tipTimestamp: block.timestamp, now: now, acceptedRetention: acceptedRetention),
            let offered = await horizonProbe.newestReachableHeight(now: now), offered > executed
        else { return }
        let message =
            "cannot execute past height \(executed), whose block is \((now - block.timestamp) / 1_000) s old: beyond the "
            + "catch-up horizon (3/4 of acceptedRetention), while the peers offer a certified state at height \(offered) "
            + "with the blocks below it; "
            + "stopping, to come back through state sync when restarted"
        let first = failure.withLock { failure -> Bool in
            guard failure == nil else { return false }
            failure = NodeFailure(exitCode: NodeFailure.stateSyncNeededExitCode, message: message)
            return true
        }
        guard first else { return }
        logger.critical("node falling behind", metadata: ["cause": "\(message)"])
        stop()
    }
}

extension Metrics.Timer {
    func recordInterval(since start: ContinuousClock.Instant) {
        record(ContinuousClock.now - start)
    }

    func record(_ duration: Duration) {
        recordNanoseconds(Int64(duration / .nanoseconds(1)))
    }
}
