import DSMR
import DSMRNetwork
import DSMRTestSupport
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// How a ``ScriptedPeer`` protects its link and what its proof binds.
enum ScriptedLink: Sendable {
    /// TLS 1.3 with a fresh certificate, and a proof bound to it: what an honest validator does.
    case tls
    /// TLS 1.3 with a fresh certificate, and a proof made for `other`'s key
    /// instead: a validator key presented with another's certificate.
    case tlsProofFor(other: TLSIdentity)
    /// No TLS and the plaintext binding, as a ``LinkSecurity/plaintextForMeasurementOnly`` transport.
    case plaintext
}

/// A validator's end of one connection, driven by the test: it does the
/// handshake with a fixture key (as dialer or as listener) inside TLS 1.3,
/// then records every frame it gets and writes whatever the test gives it,
/// right or wrong, as TLS records. The misbehaving side of the Byzantine
/// tests.
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

    /// Dials `port` as `signer` (claiming `claimed`'s id when given), from
    /// `local` when given, and starts the handshake; `then` is written right
    /// behind its proof, before the listener's proof is seen. With
    /// `reading` false, nothing more is read once the handshake is done, and
    /// the socket's receive buffer is kept small.
    static func dial(
        _ signer: Ed25519Signer, port: Int, host: String = "127.0.0.1", from local: String? = nil,
        reading: Bool = true, link: ScriptedLink = .tls, claiming claimed: NodeID? = nil, then: [Frame] = []
    ) async throws -> ScriptedPeer {
        let box = RecordBox()
        let tls = try link.links()
        var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(try tls.handler(dialer: true)) }
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(TestFrameDecoder()),
                        ScriptedHandshake(
                            signer: signer, dialer: true, reading: reading, record: box,
                            signedKeyHash: link.signedKeyHash(tls), claiming: claimed, then: then),
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

    init(_ signer: Ed25519Signer, host: String = "127.0.0.1", link: ScriptedLink = .tls) async throws {
        let box = ListenerBox()
        let tls = try link.links()
        server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let record = RecordBox()
                    if let tls { try channel.pipeline.syncOperations.addHandler(try tls.handler(dialer: false)) }
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(TestFrameDecoder()),
                        ScriptedHandshake(
                            signer: signer, dialer: false, reading: true, record: record,
                            signedKeyHash: link.signedKeyHash(tls)),
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

extension ScriptedLink {
    /// The TLS contexts around a fresh certificate; nil for plaintext.
    func links() throws -> TLSLinks? {
        switch self {
        case .tls, .tlsProofFor: try TLSLinks(identity: TLSIdentity.generate())
        case .plaintext: nil
        }
    }

    /// The key hash a proof names as its signer's, with `tls` the signer's contexts.
    func signedKeyHash(_ tls: TLSLinks?) -> [UInt8]? {
        switch self {
        case .tls: tls?.identity.keyHash
        case .tlsProofFor(let other): other.keyHash
        case .plaintext: nil
        }
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

/// The handshake of either side, signing with a fixture key (over the
/// binding `link` says) and checking nothing, then the recording of every frame.
private final class ScriptedHandshake: ChannelInboundHandler {
    typealias InboundIn = Frame

    private let signer: Ed25519Signer
    private let dialer: Bool
    private let reading: Bool
    private let record: RecordBox
    /// The key hash the proof names as this end's; nil on a plaintext link.
    private let signedKeyHash: [UInt8]?
    /// Written right behind this end's proof.
    private let then: [Frame]
    private let own: Hello
    private var other: Hello?

    init(
        signer: Ed25519Signer, dialer: Bool, reading: Bool, record: RecordBox, signedKeyHash: [UInt8]?,
        claiming claimed: NodeID? = nil, then: [Frame] = []
    ) {
        self.signer = signer
        self.dialer = dialer
        self.reading = reading
        self.record = record
        self.signedKeyHash = signedKeyHash
        self.then = then
        own = Hello.fresh(domain: Keys.domain, nodeID: claimed ?? signer.nodeID)
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
            if dialer {
                write(.proof(signature: proof(for: hello, context)), context)
                for frame in then { write(frame, context) }
            } else {
                write(.hello(own), context)
            }
        case (.proof, false):
            if !dialer, let other { write(.proof(signature: proof(for: other, context)), context) }
            record.record.withLock { $0.authenticated = true }
            if !reading { context.channel.setOption(.autoRead, value: false).whenFailure { _ in } }
        default:
            record.record.withLock { $0.received.append(frame) }
        }
    }

    private func proof(for other: Hello, _ context: ChannelHandlerContext) -> [UInt8] {
        var binding = TLSBinding.plaintext
        if let signedKeyHash {
            binding = TLSBinding(
                own: signedKeyHash, peer: try! TLSLinks.peerKeyHash(on: context.pipeline.syncOperations))
        }
        return try! signer.sign(PeerHandshake.message(domain: Keys.domain, own: own, other: other, binding: binding))
    }

    private func write(_ frame: Frame, _ context: ChannelHandlerContext) {
        context.writeAndFlush(NIOAny(ByteBuffer(bytes: frame.encoded())), promise: nil)
    }
}
