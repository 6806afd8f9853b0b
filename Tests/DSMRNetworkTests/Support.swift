import DSMR
import DSMRNetwork
import DSMRNode
import DSMRTestSupport
import NIOCore
import NIOPosix
import Synchronization
import Testing

enum Keys: FixtureSigners {
    static let domain = SigningDomain(networkID: 77, chainID: try! ChainID(bytes: (0..<32).map { UInt8($0 ^ 0x5A) }))
    static let signers = (1...4).map { signer(UInt8($0)) }
    static let outsider = signer(99)
    static let validators = try! ValidatorSet(
        epoch: 0, validators: signers.map { Validator(publicKey: $0.publicKey, weight: 10) })
}

/// Answers every request with `answer || request` and records what reached it.
/// Requests whose first byte is 0xFF wait until ``release()``.
final class RecordingHandler: MessageHandler {
    struct Seen: Sendable {
        var requests: [(NodeID, [UInt8])] = []
        var gossip: [(NodeID, [UInt8])] = []
        var held = 0
    }

    let seen = Mutex(Seen())
    private let gate = Gate()

    var requestCount: Int { seen.withLock { $0.requests.count } }
    var gossipCount: Int { seen.withLock { $0.gossip.count } }
    var heldCount: Int { seen.withLock { $0.held } }

    func release() { gate.open() }

    func handleRequest(_ request: [UInt8], from peer: NodeID) async -> [UInt8] {
        seen.withLock { $0.requests.append((peer, request)) }
        if request.first == 0xFF {
            seen.withLock { $0.held += 1 }
            await gate.wait()
        }
        return [0xAA] + request
    }

    func handleGossip(_ message: [UInt8], from peer: NodeID) async {
        seen.withLock { $0.gossip.append((peer, message)) }
    }
}

/// A one-shot gate tasks wait on.
final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// Transports for `signers` on 127.0.0.1, each knowing every other's port.
func startTransports(
    _ signers: [Ed25519Signer], validators: ValidatorSet = Keys.validators,
    adjust: (inout TCPTransportConfiguration) -> Void = { _ in }
) async throws -> [TCPTransport] {
    var transports: [TCPTransport] = []
    for signer in signers {
        var configuration = TCPTransportConfiguration(signer: signer, domain: Keys.domain) { validators }
        configuration.logger.logLevel = .critical
        adjust(&configuration)
        transports.append(try await TCPTransport(configuration))
    }
    connect(transports)
    return transports
}

/// Tells every transport where every other one listens.
func connect(_ transports: [TCPTransport]) {
    for a in transports {
        for b in transports where a !== b { a.setAddress(host: "127.0.0.1", port: b.port, of: b.local) }
    }
}

func shutdownAll(_ transports: [TCPTransport]) async {
    for transport in transports { await transport.shutdown(within: .seconds(5)) }
}

/// A client that writes whatever bytes it is given: no peer handshake, no
/// framing. Inside TLS 1.3 (with a certificate of its own) by default, so the
/// bytes reach the transport's frame decoder; with `tls` false, as plain TCP.
final class RawClient: Sendable {
    let channel: any Channel

    /// The certificate every raw client presents: bound to no validator key,
    /// made once (a key and a certificate per connection would make the
    /// tests that open hundreds of connections slow on a loaded machine).
    static let identity: TLSIdentity = try! TLSIdentity.generate()

    /// Connects, from `local` when given, and writes `bytes` at once, from
    /// the event loop (inside TLS once its handshake is done). A connection
    /// the server closes at once is not an error here (with no bytes nothing
    /// is written; a write the closed connection refuses is let go).
    init(
        port: Int, host: String = "127.0.0.1", from local: String? = nil, tls: Bool = true, sending bytes: [UInt8]
    ) async throws {
        let links = tls ? try TLSLinks(identity: Self.identity) : nil
        var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let links { try channel.pipeline.syncOperations.addHandler(try links.handler(dialer: true)) }
                }
            }
        if let local { bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: local, port: 0)) }
        channel =
            try await bootstrap
            .connect(host: host, port: port)
            .flatMap { channel in
                guard !bytes.isEmpty else { return channel.eventLoop.makeSucceededFuture(channel) }
                // A server that closed first fails the write (EPIPE): the channel is then inactive,
                // which ``closedByServer(within:)`` reports; the write's error is not the test's.
                return channel.writeAndFlush(ByteBuffer(bytes: bytes)).map { channel }.recover { _ in channel }
            }
            .get()
    }

    /// Whether the server closed the connection within `deadline`.
    func closedByServer(within deadline: Duration = .seconds(30)) async -> Bool {
        await eventually(within: deadline) { !channel.isActive }
    }

    func close() async { try? await channel.close() }
}

/// The error `request` fails with, or nil when it is answered.
func requestError(
    _ transport: TCPTransport, _ request: [UInt8], to peer: NodeID, timeout: Duration = .seconds(2)
) async -> TransportError? {
    do {
        _ = try await transport.request(request, to: peer, timeout: timeout)
        return nil
    } catch {
        return error
    }
}
