import NIOCore
import NIOPosix
import Synchronization

/// An on-path attacker between two transports: a TCP relay on 127.0.0.1
/// that forwards every connection to `target`, records every byte it
/// forwards, and on the test's word changes a byte or injects bytes of its
/// own into an established connection.
final class RelayProxy: Sendable {
    /// Which way bytes travel.
    enum Direction: Sendable {
        /// From the dialer (who connected to the proxy) to the listener behind it.
        case towardListener
        /// From the listener back to the dialer.
        case towardDialer
    }

    private struct State {
        var forwarded: [UInt8] = []
        var flipNext: Set<Direction> = []
        var flipped = 0
        var pairs: [Pair] = []
    }

    /// The state the forwarders on the event loops and the test share.
    private final class Shared: Sendable {
        let state = Mutex(State())
    }

    private let server: any Channel
    private let shared: Shared

    /// The port dialers connect to.
    var port: Int { server.localAddress?.port ?? 0 }

    /// Every byte forwarded so far, both ways.
    var forwarded: [UInt8] { shared.state.withLock { $0.forwarded } }
    /// How many chunks had a byte changed.
    var flipped: Int { shared.state.withLock { $0.flipped } }

    init(to target: Int) async throws {
        let shared = Shared()
        self.shared = shared
        let group = MultiThreadedEventLoopGroup.singleton
        server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { inbound in
                let pair = Pair(dialerSide: inbound)
                shared.state.withLock { $0.pairs.append(pair) }
                return ClientBootstrap(group: inbound.eventLoop)
                    .channelOption(.autoRead, value: false)
                    .channelInitializer { outbound in
                        outbound.eventLoop.makeCompletedFuture {
                            try outbound.pipeline.syncOperations.addHandler(
                                Forwarder(direction: .towardDialer, to: inbound, shared: shared))
                        }
                    }
                    .connect(host: "127.0.0.1", port: target)
                    .flatMap { outbound in
                        pair.listenerSide.withLock { $0 = outbound }
                        return inbound.pipeline.addHandler(
                            Forwarder(direction: .towardListener, to: outbound, shared: shared)
                        ).flatMap {
                            outbound.setOption(.autoRead, value: true)
                        }.flatMap {
                            inbound.setOption(.autoRead, value: true)
                        }
                    }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
    }

    /// Changes one byte (the last) of the next bytes forwarded `direction`.
    func flipNext(_ direction: Direction) {
        _ = shared.state.withLock { $0.flipNext.insert(direction) }
    }

    /// Writes `bytes` into every open connection, `direction`, as if they
    /// came from the other end.
    func inject(_ bytes: [UInt8], _ direction: Direction) async throws {
        let channels = shared.state.withLock { state in
            state.pairs.compactMap { pair -> (any Channel)? in
                switch direction {
                case .towardDialer: pair.dialerSide
                case .towardListener: pair.listenerSide.withLock { $0 }
                }
            }.filter(\.isActive)
        }
        for channel in channels { try await channel.writeAndFlush(ByteBuffer(bytes: bytes)).get() }
    }

    /// Whether `needle` appears in what was forwarded.
    func forwardedContains(_ needle: [UInt8]) -> Bool {
        let haystack = forwarded
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if haystack[start..<start + needle.count].elementsEqual(needle) { return true }
        }
        return false
    }

    func close() async {
        let channels = shared.state.withLock { $0.pairs.flatMap { [$0.dialerSide, $0.listenerSide.withLock { $0 }] } }
        for channel in channels.compactMap({ $0 }) { try? await channel.close() }
        try? await server.close()
    }

    /// The two sockets of one relayed connection.
    private final class Pair: Sendable {
        let dialerSide: any Channel
        let listenerSide = Mutex<(any Channel)?>(nil)

        init(dialerSide: any Channel) { self.dialerSide = dialerSide }
    }

    /// Forwards what one side sends to the other, recording it, changing
    /// it when told; a close on one side closes the other.
    private final class Forwarder: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer

        let direction: Direction
        let partner: any Channel
        let shared: Shared

        init(direction: Direction, to partner: any Channel, shared: Shared) {
            self.direction = direction
            self.partner = partner
            self.shared = shared
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = Array(unwrapInboundIn(data).readableBytesView)
            let direction = self.direction
            shared.state.withLock { state in
                if !bytes.isEmpty, state.flipNext.remove(direction) != nil {
                    bytes[bytes.count - 1] ^= 0x01
                    state.flipped += 1
                }
                state.forwarded += bytes
            }
            partner.writeAndFlush(ByteBuffer(bytes: bytes), promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            partner.close(promise: nil)
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}
