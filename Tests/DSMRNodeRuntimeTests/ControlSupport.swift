import ChunkStore
import DSMR
import DSMRDevnet
import DSMRNetwork
import DSMRNodeRuntime
import DSMRTestSupport
import DemoVM
import StoreMaintenance
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// Runs `body` with a started devnet of `validators` real `dsmr-node`
/// processes in a fresh directory (see ``withDevnet(_:_:)``), then removes
/// the directory (kept when `DSMR_KEEP_DEVNET` is set, for the nodes' logs
/// and stores).
func withStartedDevnet<T>(
    validators: Int, duration: Duration = .seconds(3), transactionRate: Int = 200,
    _ body: (Devnet) async throws -> T
) async throws -> T {
    let directory = try TemporaryDirectory("dsmr-attack")
    defer {
        if ProcessInfo.processInfo.environment["DSMR_KEEP_DEVNET"] == nil { directory.remove() }
    }
    var options = DevnetOptions(
        directory: directory.path, executable: try builtExecutable("dsmr-node", override: "DSMR_NODE"),
        provider: DemoProvider())
    options.validators = validators
    // Tests kill and restart validators themselves.
    options.restartDied = false
    options.duration = duration
    options.transactionRate = transactionRate
    options.drainTimeout = .seconds(10)
    options.statusInterval = .milliseconds(500)
    return try await withDevnet(options, body)
}

/// A stream client (TCP or Unix socket) with no protocol: it writes the
/// bytes it is given and keeps every byte that comes back.
final class RawStreamClient: Sendable {
    let channel: any Channel
    private let inbox: Inbox

    private init(channel: any Channel, inbox: Inbox) {
        self.channel = channel
        self.inbox = inbox
    }

    /// Connects to `host:port`.
    static func connect(host: String = "127.0.0.1", port: Int) async throws -> RawStreamClient {
        let inbox = Inbox()
        let channel = try await bootstrap(inbox).connect(host: host, port: port).get()
        return RawStreamClient(channel: channel, inbox: inbox)
    }

    /// Connects to `host:port` from the local address `source` (a 127.0.0.x on loopback).
    static func connect(from source: String, host: String = "127.0.0.1", port: Int) async throws -> RawStreamClient {
        let inbox = Inbox()
        let channel = try await bootstrap(inbox).bind(to: try SocketAddress(ipAddress: source, port: 0))
            .connect(host: host, port: port).get()
        return RawStreamClient(channel: channel, inbox: inbox)
    }

    /// Connects to a validator's peer port at `host:port` inside TLS 1.3,
    /// with a fresh certificate: what it sends then reaches the validator's
    /// frame decoder (the peer handshake is the test's to write).
    static func connectTLS(host: String = "127.0.0.1", port: Int) async throws -> RawStreamClient {
        let inbox = Inbox()
        let links = try TLSLinks(identity: TLSIdentity.generate())
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([try links.handler(dialer: true), inbox])
                }
            }
            .connect(host: host, port: port).get()
        return RawStreamClient(channel: channel, inbox: inbox)
    }

    /// Connects to the Unix socket at `path`.
    static func connect(unixPath path: String) async throws -> RawStreamClient {
        let inbox = Inbox()
        let channel = try await bootstrap(inbox).connect(unixDomainSocketPath: path).get()
        return RawStreamClient(channel: channel, inbox: inbox)
    }

    private static func bootstrap(_ inbox: Inbox) -> ClientBootstrap {
        ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(inbox) }
            }
    }

    /// Writes `bytes`; a connection the other side closed already is not an error here.
    func send(_ bytes: [UInt8]) async {
        try? await channel.writeAndFlush(ByteBuffer(bytes: bytes)).get()
    }

    /// Every byte received so far.
    var received: [UInt8] { inbox.bytes.withLock { $0 } }

    /// Whether the other side closed the connection within `deadline`.
    func closedByPeer(within deadline: Duration = .seconds(10)) async -> Bool {
        await eventually(within: deadline) { !channel.isActive }
    }

    /// The bytes received once there are at least `count`, or nil at `deadline`.
    func receive(atLeast count: Int, within deadline: Duration = .seconds(10)) async -> [UInt8]? {
        await eventually(within: deadline) { received.count >= count } ? received : nil
    }

    func close() async { try? await channel.close() }

    private final class Inbox: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer

        let bytes = Mutex<[UInt8]>([])

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            bytes.withLock { $0 += buffer.readableBytesView }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
    }
}

/// One HTTP/1.1 answer, as a plain TCP client reads it.
struct HTTPAnswer {
    let status: Int
    let body: String

    /// Sends `method path` to `address` (`host:port`) and reads the answer until the server closes.
    static func fetch(_ path: String, from address: String, method: String = "GET") async throws -> HTTPAnswer {
        // A loaded machine may leave the endpoint's connection deadline to close a connection before
        // its answer: asked again, up to three times, when the connection closes with nothing.
        var attempt = 0
        while true {
            attempt += 1
            let answer = try await fetchOnce(path, from: address, method: method)
            if answer != nil || attempt == 3 {
                guard let answer else { throw TestFailure("\(address) closed three times without an answer") }
                return answer
            }
        }
    }

    /// One request; nil when the connection closed without any answer.
    private static func fetchOnce(_ path: String, from address: String, method: String) async throws -> HTTPAnswer? {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
            throw TestFailure("not host:port: \(address)")
        }
        let client = try await RawStreamClient.connect(host: String(address[..<colon]), port: port)
        defer { Task { await client.close() } }
        await client.send(Array("\(method) \(path) HTTP/1.1\r\nHost: \(address)\r\nConnection: close\r\n\r\n".utf8))
        // Generous: a loaded machine may be slow to schedule the answer.
        guard await client.closedByPeer(within: .seconds(30)) else {
            throw TestFailure("\(address) did not finish its answer")
        }
        if client.received.isEmpty { return nil }
        let text = String(decoding: client.received, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { throw TestFailure("no header end in \(text.prefix(200))") }
        let statusLine = text[..<split.lowerBound].split(separator: "\r\n").first ?? ""
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw TestFailure("bad status line: \(statusLine)")
        }
        return HTTPAnswer(status: status, body: String(text[split.upperBound...]))
    }

    /// The samples of Prometheus text: each metric line's name (labels
    /// included) and value; comments skipped.
    var samples: [String: Double] {
        var samples: [String: Double] = [:]
        for line in body.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                continue
            }
            samples[String(line[..<space])] = value
        }
        return samples
    }

    /// The metric families in the body (each `# TYPE` line's name).
    var families: [String] {
        body.split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ")
            return words.count == 4 && words[0] == "#" && words[1] == "TYPE" ? String(words[2]) : nil
        }
    }

    /// The families without a `# HELP` line of some text.
    var familiesWithoutHelp: [String] {
        let described = Set(
            body.split(separator: "\n").compactMap { line -> String? in
                let words = line.split(separator: " ", maxSplits: 3)
                return words.count == 4 && words[0] == "#" && words[1] == "HELP" ? String(words[2]) : nil
            })
        return families.filter { !described.contains($0) }
    }
}

/// Validator `index` of a running devnet as an attacker sees it: its peer
/// port, its network, the validator set, and its store.
struct PeerTarget {
    let configuration: NodeConfiguration
    /// The address it listens on (its own 127.0.0.x in a devnet).
    let host: String
    let port: Int
    let domain: SigningDomain
    let validators: ValidatorSet
    let nodeID: NodeID
    let rules: Rules

    init(_ devnet: Devnet, index: Int) throws {
        configuration = try NodeConfiguration.load(from: devnet.layout.configurationPath(index))
        let listen = try Endpoint(parsing: configuration.listen, setting: "listen")
        host = listen.host
        port = listen.port
        domain = SigningDomain(networkID: configuration.networkID, chainID: try ChainID(hex: configuration.chainID))
        validators = try ValidatorSet(
            epoch: 0,
            validators: configuration.validators.map {
                Validator(publicKey: Hex.decode($0.publicKey) ?? [], weight: $0.weight)
            })
        nodeID = try Ed25519Signer(keyFile: configuration.keyFile).nodeID
        rules = try configuration.rules.rules()
    }

    /// The other validators.
    var others: [NodeID] { validators.validators.map(\.nodeID).filter { $0 != nodeID } }

    /// The slot of the wall clock now.
    var currentSlot: UInt64 { rules.slot(at: Int64((Date().timeIntervalSince1970 * 1_000).rounded(.down))) }

    /// Calls `body` with the validator's store opened read-only beside the running node.
    func withStore<T>(_ body: (ChunkStore) async throws -> T) async throws -> T {
        let store = try ChunkStore(adopting: configuration.store, readOnly: true)
        defer { store.close() }
        return try await body(store)
    }
}

/// A chunk a validator signed: its producer and slot.
struct SignedSlot: Hashable {
    let producer: NodeID
    let slot: UInt64
}

/// The other validators' chunks that `store` signed.
func signedForOthers(_ store: ChunkStore, _ target: PeerTarget) throws -> Set<SignedSlot> {
    let others = Set(target.others)
    var signed: Set<SignedSlot> = []
    for history in try store.exportSigningHistory().data where others.contains(history.producer) {
        for chunk in history.signedChunks { signed.insert(SignedSlot(producer: history.producer, slot: chunk.slot)) }
    }
    return signed
}

/// After a devnet's load: every validator answers for every height up to
/// the common one with the same state root.
func stateRootsAgreeAtEveryHeight(_ devnet: Devnet, upTo height: UInt64) async throws -> Bool {
    var clients: [ControlClient] = []
    for index in 0..<devnet.options.validators {
        clients.append(try await ControlClient.connect(path: devnet.layout.controlSocket(index)))
    }
    var agree = true
    for height in 1...max(1, height) where agree {
        var roots: [StateRoot] = []
        for client in clients {
            if case .stateRoot(let root)? = try? await client.send(.stateRoot(height: height)) { roots.append(root) }
        }
        agree = roots.count == clients.count && Set(roots).count == 1
    }
    for client in clients { await client.close() }
    return agree
}
