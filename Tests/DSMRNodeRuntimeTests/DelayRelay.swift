import NIOCore
import NIOPosix
import Synchronization

/// Which validator's peer traffic the fault campaign's relays hold back, and
/// for how long: this kernel has no netem, so delay is added in user space.
final class DelayPlan: Sendable {
    private let state = Mutex<(address: String?, delay: Duration)>((nil, .zero))

    /// Holds back, by `delay`, every byte relayed to or from the validator
    /// listening on `address` (its host's address).
    func delay(_ address: String, by delay: Duration) { state.withLock { $0 = (address, delay) } }

    /// Relays everything at once again (bytes already held keep their time).
    func clear() { state.withLock { $0 = (nil, .zero) } }

    /// How long to hold bytes of a connection from `dialer` to `listener`.
    func delay(dialer: String?, listener: String) -> Duration {
        state.withLock { state in
            guard let address = state.address, address == dialer || address == listener else { return .zero }
            return state.delay
        }
    }
}

/// A TCP relay in front of one validator: peers dial it, and it forwards
/// each connection to the validator, both ways, holding bytes back as its
/// ``DelayPlan`` says (in order: a byte read later is never sent earlier).
final class DelayRelay: Sendable {
    private let server: any Channel

    /// The port peers dial.
    var port: Int { server.localAddress?.port ?? 0 }

    /// A relay listening on `host:port` (0: any free port) that forwards to `target`.
    init(listen host: String, port: Int = 0, to target: (host: String, port: Int), plan: DelayPlan) async throws {
        let listener = target.host
        server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { inbound in
                let dialer = inbound.remoteAddress?.ipAddress
                let delay: @Sendable () -> Duration = { plan.delay(dialer: dialer, listener: listener) }
                return ClientBootstrap(group: inbound.eventLoop)
                    .connectTimeout(.seconds(5))
                    .connect(host: target.host, port: target.port)
                    .flatMap { outbound in
                        inbound.eventLoop.makeCompletedFuture {
                            try outbound.pipeline.syncOperations.addHandler(
                                DelayingForwarder(to: inbound, delay: delay))
                            try inbound.pipeline.syncOperations.addHandler(
                                DelayingForwarder(to: outbound, delay: delay))
                        }.flatMap { inbound.setOption(.autoRead, value: true) }
                    }
            }
            .bind(host: host, port: port)
            .get()
    }

    /// Stops listening (relayed connections end with their validators).
    func close() async { try? await server.close() }
}

/// Forwards what one side of a relayed connection reads to the other side,
/// each read held back by the plan's delay at the time it was read; a close
/// on one side closes the other once what it held is sent.
private final class DelayingForwarder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    let partner: any Channel
    let delay: @Sendable () -> Duration
    private var held: [(due: NIODeadline, bytes: ByteBuffer)] = []
    private var flushScheduled = false

    init(to partner: any Channel, delay: @escaping @Sendable () -> Duration) {
        self.partner = partner
        self.delay = delay
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        let wait = delay()
        if held.isEmpty && wait == .zero {
            partner.writeAndFlush(bytes, promise: nil)
            return
        }
        let nanoseconds = wait.components.seconds * 1_000_000_000 + wait.components.attoseconds / 1_000_000_000
        let due = max(NIODeadline.now() + .nanoseconds(nanoseconds), held.last?.due ?? .distantPast)
        held.append((due, bytes))
        scheduleFlush(context.eventLoop)
    }

    private func scheduleFlush(_ loop: any EventLoop) {
        guard !flushScheduled, let first = held.first else { return }
        flushScheduled = true
        let bound = NIOLoopBound(self, eventLoop: loop)
        loop.scheduleTask(deadline: first.due) {
            bound.value.flushDue(loop)
        }
    }

    private func flushDue(_ loop: any EventLoop) {
        flushScheduled = false
        let now = NIODeadline.now()
        var sent = 0
        while let first = held.first, first.due <= now {
            partner.write(first.bytes, promise: nil)
            held.removeFirst()
            sent += 1
        }
        if sent > 0 { partner.flush() }
        scheduleFlush(loop)
    }

    func channelInactive(context: ChannelHandlerContext) {
        for entry in held { partner.write(entry.bytes, promise: nil) }
        held.removeAll()
        partner.writeAndFlush(ByteBuffer(), promise: nil)
        partner.close(promise: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
