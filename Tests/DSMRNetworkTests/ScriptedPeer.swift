import DSMR
import DSMRNetwork
import DSMRTestSupport
import NIOCore
import NIOPosix
import Synchronization

/// A validator's end of one connection, driven by the test: it does the
/// handshake with a fixture key (as dialer or as listener), then records
/// every frame it gets and writes whatever the test gives it, right or
/// wrong. The misbehaving side of the Byzantine tests.
final class ScriptedPeer: Sendable {
    /// What the connection has seen.
    struct Record: Sendable {
        var authenticated = false
        var received: [Frame] = []
    }

    let channel: any Channel
    private let box: RecordBox

    fileprivate init(channel: any Channel, box: RecordBox) {
        self.channel = channel
        self.box = box
    }

    var authenticated: Bool { box.record.withLock { $0.authenticated } }
    var received: [Frame] { box.record.withLock { $0.received } }
    /// The ids of the requests received so far.
    var requestIDs: [UInt64] {
        received.compactMap { frame in
            if case .request(let id, _) = frame { return id }
            return nil
        }
    }

    /// Dials `port` as `signer`, from `local` when given, and starts the
    /// handshake. With `reading` false, nothing more is read once the
    /// handshake is done, and the socket's receive buffer is kept small.
    static func dial(
        _ signer: Ed25519Signer, port: Int, host: String = "127.0.0.1", from local: String? = nil,
        reading: Bool = true
    ) async throws -> ScriptedPeer {
        let box = RecordBox()
        var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(TestFrameDecoder()),
                        ScriptedHandshake(signer: signer, dialer: true, reading: reading, record: box),
                    ])
                }
            }
        if !reading { bootstrap = bootstrap.channelOption(.socketOption(.so_rcvbuf), value: 4_096) }
        if let local { bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: local, port: 0)) }
        let channel = try await bootstrap.connect(host: host, port: port).get()
        return ScriptedPeer(channel: channel, box: box)
    }

    /// Writes frames as they are, or raw bytes.
    func send(_ frames: [Frame]) async throws {
        try await send(bytes: frames.flatMap { $0.encoded() })
    }

    func send(bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes)).get()
    }

    /// Writes frames without waiting for the socket to take them.
    func post(_ frames: [Frame]) {
        channel.writeAndFlush(ByteBuffer(bytes: frames.flatMap { $0.encoded() }), promise: nil)
    }

    /// Reads again after a dial with `reading` false: what the other side
    /// sent meanwhile, then its close, if it closed.
    func startReading() async throws {
        try await channel.setOption(.autoRead, value: true).get()
        channel.read()
    }

    /// Whether the handshake completed within `deadline`.
    func authenticates(within deadline: Duration = .seconds(10)) async -> Bool {
        await eventually(within: deadline) { authenticated }
    }

    /// Whether the other side closed the connection within `deadline`.
    func closedByPeer(within deadline: Duration = .seconds(30)) async -> Bool {
        await eventually(within: deadline) { !channel.isActive }
    }

    func close() async { try? await channel.close() }
}

/// A listening validator driven by the test: each connection it accepts
/// does the listener's handshake as `signer`, then is a ``ScriptedPeer``.
final class ScriptedListener: Sendable {
    let server: any Channel
    private let box: ListenerBox

    var port: Int { server.localAddress?.port ?? 0 }
    var peers: [ScriptedPeer] { box.accepted.withLock { $0 } }

    init(_ signer: Ed25519Signer, host: String = "127.0.0.1") async throws {
        let box = ListenerBox()
        server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let record = RecordBox()
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(TestFrameDecoder()),
                        ScriptedHandshake(signer: signer, dialer: false, reading: true, record: record),
                    ])
                    box.accepted.withLock { $0.append(ScriptedPeer(channel: channel, box: record)) }
                }
            }
            .bind(host: host, port: 0)
            .get()
        self.box = box
    }

    /// The first accepted connection that completed its handshake, waiting for it.
    func authenticatedPeer(within deadline: Duration = .seconds(10)) async -> ScriptedPeer? {
        var found: ScriptedPeer?
        _ = await eventually(within: deadline) {
            found = peers.first { $0.authenticated }
            return found != nil
        }
        return found
    }

    func close() async {
        for peer in peers { await peer.close() }
        try? await server.close()
    }
}

/// Shares a record between the handler on the event loop and the test.
private final class RecordBox: Sendable {
    let record = Mutex(ScriptedPeer.Record())
}

private final class ListenerBox: Sendable {
    let accepted = Mutex<[ScriptedPeer]>([])
}

/// Cuts bytes into frames; no size limit, the scripted side trusts its peer.
private struct TestFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = Frame

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self),
            buffer.readableBytes >= Frame.headerBytes + Int(length)
        else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: Frame.headerBytes)
        let body = buffer.readBytes(length: Int(length))!
        context.fireChannelRead(NIOAny(try Frame(body: body)))
        return .continue
    }
}

/// The handshake of either side, signing with a fixture key and checking
/// nothing, then the recording of every frame.
private final class ScriptedHandshake: ChannelInboundHandler {
    typealias InboundIn = Frame

    private let signer: Ed25519Signer
    private let dialer: Bool
    private let reading: Bool
    private let record: RecordBox
    private let own: Hello
    private var other: Hello?

    init(signer: Ed25519Signer, dialer: Bool, reading: Bool, record: RecordBox) {
        self.signer = signer
        self.dialer = dialer
        self.reading = reading
        self.record = record
        own = Hello.fresh(domain: Keys.domain, nodeID: signer.nodeID)
    }

    func channelActive(context: ChannelHandlerContext) {
        if dialer { write(.hello(own), context) }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let authenticated = record.record.withLock { $0.authenticated }
        switch (frame, authenticated) {
        case (.hello(let hello), false):
            other = hello
            if dialer { write(.proof(signature: proof(for: hello)), context) } else { write(.hello(own), context) }
        case (.proof, false):
            if !dialer, let other { write(.proof(signature: proof(for: other)), context) }
            record.record.withLock { $0.authenticated = true }
            if !reading { context.channel.setOption(.autoRead, value: false).whenFailure { _ in } }
        default:
            record.record.withLock { $0.received.append(frame) }
        }
    }

    private func proof(for other: Hello) -> [UInt8] {
        try! signer.sign(PeerHandshake.message(domain: Keys.domain, own: own, other: other))
    }

    private func write(_ frame: Frame, _ context: ChannelHandlerContext) {
        context.writeAndFlush(NIOAny(ByteBuffer(bytes: frame.encoded())), promise: nil)
    }
}
