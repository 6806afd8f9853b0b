import DSMR
import DSMRNetwork
import DSMRNode
import DSMRNodeRuntime
import Foundation

/// ``ByzantineBehaviour/answerOthers``: the node's own transport listens on
/// a free port; the configured address is this attack's, where honest
/// validators dial in. For each request it reads it answers the ids after
/// it, and its own, with errors.
struct AnswerOthers: Sendable {
    let context: ByzantineContext?

    init(_ runner: NodeRunner) { context = ByzantineContext(runner) }

    /// Moves the node's own listener to a free port of the same host.
    @Sendable static func moveListener(_ configuration: NodeConfiguration) -> NodeConfiguration {
        var moved = configuration
        let host = configuration.listen.split(separator: ":").first.map(String.init) ?? "127.0.0.1"
        moved.listen = "\(host):0"
        return moved
    }

    func run() async {
        guard let context,
            let original = try? NodeConfiguration.load(from: configurationPath(context)),
            let endpoint = try? Endpoint(parsing: original.listen, setting: "listen"),
            let listener = try? RawPeerSocket.listen(host: endpoint.host, port: endpoint.port)
        else { return }
        defer { close(listener) }
        await context.repeatOnThread("answer-others") {
            let descriptor = accept(listener, nil, nil)
            guard descriptor >= 0 else { return }
            Thread.detachNewThread {
                guard let connection = try? RawPeerSocket.accepted(descriptor: descriptor) else { return }
                serve(connection, context)
            }
        }
    }

    private func configurationPath(_ context: ByzantineContext) -> String {
        let arguments = CommandLine.arguments
        guard let index = arguments.firstIndex(of: "--config"), index + 1 < arguments.count else { return "" }
        return arguments[index + 1]
    }

    private func serve(_ connection: RawPeerSocket, _ context: ByzantineContext) {
        defer { connection.close() }
        guard (try? connection.handshakeAsListener(signer: context.signer, domain: context.domain)) != nil else {
            return
        }
        let refusal = NodeMessage.error(ErrorReply(.conflicting, "signed another chunk")).encoded()
        while let frame = try? connection.readFrame() {
            guard case .request(let id, _) = frame else { continue }
            var answers: [UInt8] = []
            for next in id...(id &+ 32) { answers += Frame.response(id: next, payload: refusal).encoded() }
            for random in 0..<8 {
                answers += Frame.response(id: UInt64(random) &+ UInt64.random(in: 0...UInt64.max), payload: refusal)
                    .encoded()
            }
            guard (try? connection.write(answers)) != nil else { return }
        }
    }
}

/// ``ByzantineBehaviour/flood``: a connection to each validator sending
/// requests as fast as it can, never reading the answers.
struct Flood: Sendable {
    let context: ByzantineContext?

    init(_ runner: NodeRunner) { context = ByzantineContext(runner) }

    func run() async {
        guard let context else { return }
        await withTaskGroup(of: Void.self) { group in
            for peer in context.peers {
                group.addTask {
                    await context.repeatOnThread("flood \(peer.nodeID)") {
                        guard
                            let connection = try? RawPeerSocket.connect(
                                host: peer.host, port: peer.port, receiveBuffer: 4_096)
                        else { return Thread.sleep(forTimeInterval: 0.1) }
                        defer { connection.close() }
                        guard
                            (try? connection.handshakeAsDialer(
                                signer: context.signer, domain: context.domain, peer: peer.nodeID)) != nil
                        else { return Thread.sleep(forTimeInterval: 0.1) }
                        connection.stopReading()
                        var id: UInt64 = 1
                        var batch: [UInt8] = []
                        while true {
                            batch.removeAll(keepingCapacity: true)
                            for _ in 0..<64 {
                                let unknown = try! ChunkID(bytes: (0..<32).map { _ in UInt8.random(in: 0...255) })
                                let ask = NodeMessage.requestChunk(unknown, expiry: context.now + 5_000).encoded()
                                batch += Frame.request(id: id, payload: ask).encoded()
                                id &+= 1
                            }
                            guard (try? connection.write(batch)) != nil else { return }
                        }
                    }
                }
            }
        }
    }
}

/// ``ByzantineBehaviour/equivocate``: two chunks for each slot, each shown
/// to half of the validators.
struct Equivocation: Sendable {
    let context: ByzantineContext?

    init(_ runner: NodeRunner) { context = ByzantineContext(runner) }

    func run() async {
        guard let context else { return }
        let transport = context.runner.node.transport
        var lastSlot: UInt64?
        while !Task.isCancelled, !context.runner.isStopping {
            let slot = context.rules.slot(at: context.now)
            if slot != lastSlot {
                lastSlot = slot
                let chunks = (0..<2).compactMap { variant in
                    try? Chunk.sign(
                        producer: context.signer, beneficiary: context.signer.nodeID, slot: slot,
                        transactions: [[UInt8(variant)] + (0..<16).map { _ in UInt8.random(in: 0...255) }],
                        domain: context.domain)
                }
                guard chunks.count == 2 else { continue }
                await withTaskGroup(of: Void.self) { group in
                    for (index, peer) in context.peers.enumerated() {
                        let request = NodeMessage.requestChunkSignatureShare(chunks[index % 2]).encoded()
                        group.addTask {
                            _ = try? await transport.request(request, to: peer.nodeID, timeout: .seconds(1))
                        }
                    }
                }
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}
