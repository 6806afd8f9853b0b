import DSMRNodeRuntime
import DSMR
import DSMRNode
import Foundation
import Synchronization

/// A local devnet: N node processes on loopback, each on its own 127.0.0.x (`dsmr-node`, or a chain's
/// own binary), a load generator submitting the state machine's
/// transactions (DemoVM: signed transfers) over their control sockets, and
/// an ordering driver. With ``DevnetOptions/validatorHosts`` (and
/// ``DevnetOptions/etcdHosts``) each process runs on a host of its own
/// instead (see ``HostTestbed``).
///
/// The ordering driver is a test driver, not consensus: one sequencer
/// (this process) asks validators in turn to build a block on the chain
/// tip, then has every running validator verify and accept it, and goes on
/// once a quorum has: a slow, paused or silent validator holds up nothing
/// (see ``silenceLimit``). A validator that is behind (restarted, paused, or
/// down for a while) is given the blocks it lacks. There are no forks because there is one sequencer; a real
/// deployment puts a consensus engine where the driver is, through the same
/// block API.
package final class Devnet: Sendable {
    struct Member {
        var process: NodeProcess?
        var client: ControlClient?
        var height: UInt64 = 0
        var status: NodeStatus?
        var certifiedBase: UInt64 = 0
        var certified: UInt64 = 0
        /// Whether it left a status request unanswered for ``Devnet/silenceLimit`` and has not answered since.
        var silent = false
        /// Whether a status request is out to it while it is silent.
        var probing = false
        /// Whether the driver has a block out to it.
        var accepting = false
        /// Whether its process was stopped (SIGSTOP) when last looked at.
        var stopped = false
        /// Times the devnet restarted it after its process ended.
        var restarts = 0
        /// Restarts since it last ran for ``Devnet/stableRun``: its next backoff doubles with each.
        var streak = 0
        /// When its current process was started.
        var startedAt: ContinuousClock.Instant?
        /// Whether a restart is under way.
        var restarting = false
        /// When its process, found ended, is started again.
        var nextRestart: ContinuousClock.Instant?
    }

    struct Chain {
        var tip: Block?
        var blocks: [UInt64: Block] = [:]
        /// Blocks ordered that carry certificates (the status line's blocks; a block without
        /// certificates only moves chain time, and does not end a quiet spell in `drain()`).
        var ordered = 0
        var digestsThrough: UInt64 = 0
        var round = 0
    }

    /// The options it runs with.
    package let options: DevnetOptions
    /// Its directory.
    package let layout: DevnetLayout
    /// The addresses each validator serves Prometheus metrics on (new ports
    /// if ``start()`` had to retry).
    package var metricsAddresses: [String] { metrics.withLock { $0 } }
    let metrics: Mutex<[String]>
    let keys: [NodeID]
    /// The chain's rules.
    package let rules: Rules
    let generator: LoadGenerator
    let members: Mutex<[Member]>
    let chain = Mutex(Chain())
    let ordering = Mutex(true)
    /// The etcd cluster the validators order through; nil when the driver orders.
    package let etcd: EtcdCluster?
    let loadStopped = Mutex(false)
    /// Whether the load waits for chain time to catch up (the driver then orders blocks back to back).
    let catchingUp = Mutex(false)
    /// Watches the validators' processes while they run (see
    /// ``watchStoppedProcesses()`` and ``superviseValidators()``).
    let processWatch = Mutex<Task<Void, Never>?>(nil)
    /// The processes this run started, for the next run should this one be killed.
    let processRecord: DevnetProcessRecord

    /// Prepares the devnet's directory (creating keys on the first run) and
    /// writes every validator's configuration with fresh ports.
    package init(_ options: DevnetOptions) throws {
        self.options = options
        layout = try DevnetLayout.prepare(
            directory: options.directory, validators: options.validators, provider: options.provider,
            accounts: options.accounts)
        guard layout.controlSocket(options.validators - 1).utf8.count < 104 else {
            throw ConfigurationError(
                "the devnet directory \(layout.directory) is too long for its validators' control sockets "
                    + "(\(layout.controlSocket(options.validators - 1)) passes the 103 bytes a Unix socket path may have)"
            )
        }
        try DevnetProcessRecord.checkNoOtherRun(in: layout.directory)
        let record = DevnetProcessRecord(directory: layout.directory)
        processRecord = record
        guard let chainID = try? ChainID(hex: layout.identity.chainID) else {
            throw ConfigurationError("devnet.json: chainID is not 32 bytes of hex")
        }
        let prefix = EtcdOrdering.prefix(for: SigningDomain(networkID: layout.identity.networkID, chainID: chainID))
        etcd =
            options.ordering == .etcd
            ? try EtcdCluster(
                directory: "\(layout.directory)/etcd", members: options.etcdMembers,
                access: options.etcdSecured ? .init(prefix: prefix, validators: options.validators) : nil,
                hosts: options.etcdHosts, started: { record.add(name: "etcd\($0)", pid: $1) }) : nil
        metrics = Mutex(
            try layout.writeConfigurations(
                rules: options.rules, etcd: etcd, etcdOrdering: options.etcdOrdering,
                snapshotInterval: options.snapshotInterval,
                hosts: options.validatorHosts?.map(\.address), peers: options.peerAddresses,
                acceptedRetention: options.acceptedRetention))
        rules = try options.rules.rules()
        let signers = try layout.validatorKeys()
        keys = signers.map(\.nodeID)
        let set = try ValidatorSet(epoch: 0, validators: signers.map { Validator(publicKey: $0.publicKey, weight: 1) })
        let source = try options.provider.loadSource(
            seed: try layout.loadSeed(), parties: layout.identity.accounts,
            domain: SigningDomain(networkID: layout.identity.networkID, chainID: chainID),
            lifetime: 2 * rules.chunkLifetime)
        generator = LoadGenerator(source: source, validators: keys, set: set)
        members = Mutex(Array(repeating: Member(), count: options.validators))
    }

    // MARK: Processes

    /// Starts every validator and connects to its control socket, then
    /// lets the load's source catch up with the executed state (DemoVM: each
    /// account's transfers start at the nonce the chain has executed).
    ///
    /// Ports are picked free just before the validators start; should one be
    /// taken meanwhile (a validator fails to start), every validator is
    /// stopped and the start is tried again with new ports, three times at most.
    ///
    /// Processes that a killed earlier run in the directory left running are
    /// stopped first (see ``DevnetProcessRecord``).
    package func start() async throws {
        _ = try await DevnetProcessRecord.stopLeftovers(in: layout.directory)
        try processRecord.begin()
        try await etcd?.start()
        var attempt = 1
        while true {
            do {
                for index in 0..<options.validators { try await startNode(index) }
                break
            } catch {
                await stopValidators()
                guard attempt < 3 else {
                    await etcd?.stop()
                    throw error
                }
                attempt += 1
                let addresses = try layout.writeConfigurations(
                    rules: options.rules, etcd: etcd, etcdOrdering: options.etcdOrdering,
                    snapshotInterval: options.snapshotInterval,
                    hosts: options.validatorHosts?.map(\.address), peers: options.peerAddresses,
                    acceptedRetention: options.acceptedRetention)
                metrics.withLock { $0 = addresses }
            }
        }
        processWatch.withLock { watch in
            watch?.cancel()
            watch = Task {
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { await self.watchStoppedProcesses() }
                    if self.options.restartDied { group.addTask { await self.superviseValidators() } }
                }
            }
        }
        try await refreshStatus()
        let top = members.withLock { $0.compactMap(\.status).max { $0.acceptedHeight < $1.acceptedHeight } }
        guard let top, let reference = client(of: statusIndex(top)) else {
            throw DevnetError("no validator answered its control socket")
        }
        guard case .block(let tip) = try await reference.send(.block(height: top.acceptedHeight)) else {
            throw DevnetError("validator did not return its tip")
        }
        chain.withLock { chain in
            chain.tip = tip
            chain.blocks[tip.height] = tip
            chain.digestsThrough = tip.height
        }
        // The load reads a state that executed everything accepted (a node
        // executes what it accepted before a stop right after it starts).
        let deadline = ContinuousClock.now + .seconds(60)
        while case .status(let status) = try await reference.send(.status),
            status.executedHeight < status.acceptedHeight
        {
            guard ContinuousClock.now < deadline else {
                throw DevnetError("validator \(statusIndex(top)) has not executed its accepted blocks in 60 s")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        do {
            try await generator.source.synchronize(query: Self.query(reference))
        } catch {
            throw DevnetError("cannot read the load's executed state from validator \(statusIndex(top)): \(error)")
        }
    }

    /// Starts validator `index` and waits until its control socket answers.
    package func startNode(_ index: Int) async throws {
        let override = options.overrides[index]
        let process = try NodeProcess(
            index: index, executable: override?.executable ?? options.executable,
            configuration: layout.configurationPath(index), logPath: layout.logPath(index),
            environment: override?.environment ?? [:], placement: options.validatorHosts?[index])
        processRecord.add(name: "node\(index)", pid: process.processID)
        members.withLock {
            $0[index].process = process
            $0[index].startedAt = .now
        }
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            if !process.isRunning {
                throw DevnetError(
                    "validator \(index) exited with status \(process.exitStatus ?? -1); see \(layout.logPath(index))")
            }
            if FileManager.default.fileExists(atPath: layout.controlSocket(index)),
                let client = try? await ControlClient.connect(path: layout.controlSocket(index)),
                case .status(let status)? = try? await client.send(.status)
            {
                members.withLock {
                    $0[index].client = client
                    $0[index].status = status
                    $0[index].height = status.acceptedHeight
                    $0[index].certifiedBase = $0[index].certified
                    $0[index].silent = false
                    $0[index].stopped = false
                }
                return
            }
            guard ContinuousClock.now < deadline else {
                process.signal(SIGKILL)
                throw DevnetError("validator \(index) did not open its control socket in 60 s")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Kills validator `index` with SIGKILL (it keeps its store) and waits for it to end.
    package func kill(_ index: Int) async {
        let (process, client) = members.withLock { members in
            defer {
                members[index].client = nil
                members[index].process = nil
            }
            return (members[index].process, members[index].client)
        }
        process?.signal(SIGKILL)
        await process?.wait()
        await client?.close()
    }

    /// Sends SIGKILL to every validator at once, without waiting (for a
    /// process about to exit).
    package func killAllNow() {
        for member in members.withLock({ $0 }) { member.process?.signal(SIGKILL) }
        etcd?.killAllNow()
    }

    /// Stops every validator with SIGTERM, then the etcd cluster, if any.
    package func stopNodes() async {
        processWatch.withLock { $0?.cancel() }
        // A restart under way ends first (it started a process this must stop).
        let deadline = ContinuousClock.now + .seconds(70)
        while members.withLock({ $0.contains(where: \.restarting) }), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        await stopValidators()
        await etcd?.stop()
    }

    /// Stops every validator with SIGTERM.
    func stopValidators() async {
        let all = members.withLock { members in
            defer { for index in members.indices { members[index].client = nil } }
            return members.map { ($0.process, $0.client) }
        }
        for (_, client) in all { await client?.close() }
        await withTaskGroup(of: Void.self) { group in
            for (process, _) in all { if let process { group.addTask { await process.stop() } } }
        }
    }

    /// Validator `index`'s process while the devnet runs it; nil before
    /// ``startNode(_:)`` and after ``kill(_:)``.
    package func process(_ index: Int) -> NodeProcess? { members.withLock { $0[index].process } }

    /// How many times the devnet has restarted validators whose process ended.
    package var restarts: Int { members.withLock { $0.reduce(0) { $0 + $1.restarts } } }

    func client(of index: Int) -> ControlClient? { members.withLock { $0[index].client } }

    /// Sends state-machine queries to `client` over its control socket.
    static func query(_ client: ControlClient) -> StateQuery {
        { request in
            switch try await client.send(.query(request)) {
            case .answer(let answer): return answer
            case .error(let error): throw DevnetError("query refused: \(error)")
            default: throw DevnetError("query answered with something else")
            }
        }
    }

    func statusIndex(_ status: NodeStatus) -> Int { keys.firstIndex(of: status.nodeID) ?? 0 }

    var live: [Int] { members.withLock { members in members.indices.filter { members[$0].client != nil } } }

    /// Asks every running validator for its status, all at once (a
    /// validator that does not answer holds up a round at most
    /// ``silenceLimit``, once; see ``probe(_:)``); a validator whose process
    /// has ended is marked down.
    func refreshStatus() async throws {
        await withTaskGroup(of: Void.self) { group in
            for index in live {
                let (client, process) = members.withLock { ($0[index].client, $0[index].process) }
                if let process, !process.isRunning {
                    members.withLock { $0[index].client = nil }
                    await client?.close()
                    continue
                }
                group.addTask { await self.probe(index) }
            }
        }
    }
}

/// The devnet cannot go on; the message says why.
package struct DevnetError: Error, CustomStringConvertible, Sendable {
    /// Why.
    package let description: String
    init(_ description: String) { self.description = description }
}
