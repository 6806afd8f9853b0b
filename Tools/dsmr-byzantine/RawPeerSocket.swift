import DSMR
import DSMRNetwork
import Dispatch
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import SystemC

/// A connection that speaks the peer protocol's frames by hand, inside TLS
/// 1.3 with a certificate of its own and a proof bound to it (as an
/// honest validator's), so an attack can do what the transport never would
/// (answer ids it was not asked, never read). Its calls block the thread
/// they are made on, for at most 2 s each.
final class RawPeerSocket: Sendable {
    let channel: any Channel
    private let inbox: Inbox
    private let tls: TLSLinks

    private init(channel: any Channel, inbox: Inbox, tls: TLSLinks) {
        self.channel = channel
        self.inbox = inbox
        self.tls = tls
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// How long a write or a read may wait.
    static let timeout = DispatchTimeInterval.seconds(2)

    /// Connects to `host:port`; a small receive buffer makes the peer's
    /// answers back up sooner when they are never read.
    static func connect(host: String, port: Int, receiveBuffer: Int32? = nil) throws -> RawPeerSocket {
        let tls = try TLSLinks(identity: TLSIdentity.generate())
        let inbox = Inbox()
        var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(2))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([try tls.handler(dialer: true), inbox])
                }
            }
        if let receiveBuffer {
            bootstrap = bootstrap.channelOption(.socketOption(.so_rcvbuf), value: SocketOptionValue(receiveBuffer))
        }
        do {
            let channel = try bootstrap.connect(host: host, port: port).wait()
            return RawPeerSocket(channel: channel, inbox: inbox, tls: tls)
        } catch {
            throw Failure(description: "connect to \(host):\(port): \(error)")
        }
    }

    /// The listener's end of a connection accepted on `descriptor` (it
    /// takes the descriptor over).
    static func accepted(descriptor: Int32) throws -> RawPeerSocket {
        let tls = try TLSLinks(identity: TLSIdentity.generate())
        let inbox = Inbox()
        do {
            let channel = try ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandlers([try tls.handler(dialer: false), inbox])
                    }
                }
                .withConnectedSocket(descriptor)
                .wait()
            return RawPeerSocket(channel: channel, inbox: inbox, tls: tls)
        } catch {
            SystemC.close(descriptor)
            throw Failure(description: "cannot take over an accepted connection: \(error)")
        }
    }

    /// A listening socket on `host:port`.
    static func listen(host: String, port: Int) throws -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(description: "socket: \(errno)") }
        var one: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            SystemC.close(descriptor)
            throw Failure(description: "\(host) is not an IPv4 address")
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, SystemC.listen(descriptor, 64) == 0 else {
            SystemC.close(descriptor)
            throw Failure(description: "listen on \(host):\(port): errno \(errno)")
        }
        return descriptor
    }

    /// Writes every byte; throws once the peer closed, or when the bytes
    /// are not taken within ``timeout`` (the peer stopped reading).
    func write(_ bytes: [UInt8]) throws {
        let done = DispatchSemaphore(value: 0)
        let outcome = Outcome()
        channel.writeAndFlush(ByteBuffer(bytes: bytes)).whenComplete { result in
            outcome.set(result)
            done.signal()
        }
        guard done.wait(timeout: .now() + Self.timeout) == .success else {
            throw Failure(description: "write not taken within \(Self.timeout)")
        }
        if let error = outcome.error { throw Failure(description: "write: \(error)") }
    }

    func write(_ frame: Frame) throws { try write(frame.encoded()) }

    /// Reads one frame (of at most 16 MiB), waiting at most ``timeout`` for its bytes.
    func readFrame() throws -> Frame {
        guard let header = inbox.take(4, within: Self.timeout) else { throw Failure(description: "no frame") }
        let length = header.reduce(0) { $0 << 8 | Int($1) }
        guard length <= 16 << 20 else { throw Failure(description: "a frame of \(length) bytes") }
        guard let body = inbox.take(length, within: Self.timeout) else { throw Failure(description: "a cut frame") }
        return try Frame(body: body)
    }

    /// Stops reading: what the peer sends from now on stays in the kernel
    /// and then in the peer.
    func stopReading() {
        try? channel.setOption(.autoRead, value: false).wait()
    }

    /// This connection's TLS keys, as this end sees them.
    private func binding() throws -> TLSBinding {
        let tls = self.tls
        let peer = try channel.eventLoop.submit {
            try TLSLinks.peerKeyHash(on: self.channel.pipeline.syncOperations)
        }.wait()
        return TLSBinding(own: tls.identity.keyHash, peer: peer)
    }

    /// The dialer's side of the handshake, as `signer`, with the validator `peer`.
    func handshakeAsDialer(signer: Ed25519Signer, domain: SigningDomain, peer: NodeID) throws {
        let own = Hello.fresh(domain: domain, nodeID: signer.nodeID)
        try write(.hello(own))
        guard case .hello(let other) = try readFrame(), other.nodeID == peer else {
            throw Failure(description: "no hello from \(peer)")
        }
        let message = PeerHandshake.message(domain: domain, own: own, other: other, binding: try binding())
        try write(.proof(signature: try signer.sign(message)))
        guard case .proof = try readFrame() else { throw Failure(description: "no proof from \(peer)") }
    }

    /// The listener's side of the handshake, as `signer`; returns the dialer's hello.
    func handshakeAsListener(signer: Ed25519Signer, domain: SigningDomain) throws -> Hello {
        guard case .hello(let other) = try readFrame() else { throw Failure(description: "no hello") }
        let own = Hello.fresh(domain: domain, nodeID: signer.nodeID)
        try write(.hello(own))
        guard case .proof = try readFrame() else { throw Failure(description: "no proof") }
        let message = PeerHandshake.message(domain: domain, own: own, other: other, binding: try binding())
        try write(.proof(signature: try signer.sign(message)))
        return other
    }

    func close() { try? channel.close().wait() }

    /// The outcome of one write, set on the event loop and read by the waiting thread.
    private final class Outcome: Sendable {
        private let value = Mutex<(any Error)?>(nil)
        func set(_ result: Result<Void, any Error>) {
            if case .failure(let error) = result { value.withLock { $0 = error } }
        }
        var error: (any Error)? { value.withLock { $0 } }
    }

    /// The bytes read and not yet taken; the reading thread polls it.
    private final class Inbox: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        private let state = Mutex<(bytes: [UInt8], closed: Bool)>(([], false))

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            state.withLock { $0.bytes += buffer.readableBytesView }
        }

        func channelInactive(context: ChannelHandlerContext) {
            state.withLock { $0.closed = true }
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }

        /// The first `count` bytes, once there are that many; nil at the
        /// deadline or once the connection closed without them.
        func take(_ count: Int, within timeout: DispatchTimeInterval) -> [UInt8]? {
            let deadline = DispatchTime.now() + timeout
            while true {
                let taken = state.withLock { state -> (bytes: [UInt8]?, closed: Bool) in
                    guard state.bytes.count >= count else { return (nil, state.closed) }
                    defer { state.bytes.removeFirst(count) }
                    return (Array(state.bytes.prefix(count)), false)
                }
                if let bytes = taken.bytes { return bytes }
                if taken.closed || DispatchTime.now() >= deadline { return nil }
                usleep(1_000)
            }
        }
    }
}
