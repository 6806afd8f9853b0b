import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import Synchronization

/// Serves a Prometheus registry as text on `GET /metrics` over HTTP/1.1,
/// and, when given the node's health, `GET /health` for a supervisor: 200
/// and `healthy` while the node works, 503 and its condition and cause
/// (``NodeHealth``) while it does not. Any other path is 404 and any other
/// method 405.
///
/// Anyone who can reach the address can connect, so connections are
/// bounded, and silent ones cannot keep a scraper out: at most
/// `maxPerSource` connections from one IP address and `maxConnections` in
/// all are open at once; a new connection past either bound closes the
/// oldest one it competes with (of its own address, else of any) rather than
/// being refused, and each connection is closed `requestTimeout` after it was
/// accepted, answered or not. A scrape is answered at once, so the oldest
/// connections are the idle ones.
package final class MetricsEndpoint: Sendable {
    /// The port it listens on.
    package let port: Int
    private let channel: any Channel

    /// Listens on `host:port` (port 0 picks a free one); `health` answers `GET /health`.
    package init(
        registry: PrometheusCollectorRegistry, host: String, port: Int, maxConnections: Int = 16,
        maxPerSource: Int = 4, requestTimeout: Duration = .seconds(5),
        health: (@Sendable () -> NodeHealth)? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws {
        let open = ConnectionTable(limit: maxConnections, perSource: maxPerSource)
        let lifetime = TimeAmount.nanoseconds(Int64(requestTimeout / .nanoseconds(1)))
        channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                for evicted in open.admit(channel) { evicted.close(promise: nil) }
                let deadline = channel.eventLoop.scheduleTask(in: lifetime) { channel.close(promise: nil) }
                channel.closeFuture.whenComplete { _ in
                    deadline.cancel()
                    open.leave(channel)
                }
                return channel.pipeline.configureHTTPServerPipeline().flatMapThrowing {
                    try channel.pipeline.syncOperations.addHandler(
                        MetricsHTTPHandler(registry: registry, health: health))
                }
            }
            .bind(host: host, port: port)
            .get()
        self.port = channel.localAddress?.port ?? port
    }

    /// Stops listening.
    package func close() async { try? await channel.close() }
}

/// The endpoint's open connections, by age and source address, against their bounds.
private final class ConnectionTable: Sendable {
    struct Entry {
        let channel: any Channel
        let source: String
        let order: UInt64
    }

    struct State {
        /// At most `limit` entries: the table is bounded whatever clients do.
        var entries: [ObjectIdentifier: Entry] = [:]
        var next: UInt64 = 0
    }

    private let state = Mutex(State())
    private let limit: Int
    private let perSource: Int

    init(limit: Int, perSource: Int) {
        self.limit = max(1, limit)
        self.perSource = max(1, perSource)
    }

    /// Counts `channel` in, and returns the connections it displaces: the
    /// oldest of its own address when that address is at its bound, else the
    /// oldest of all when the endpoint is.
    func admit(_ channel: any Channel) -> [any Channel] {
        let source = channel.remoteAddress?.ipAddress ?? "unknown"
        return state.withLock { state in
            var evicted: [any Channel] = []
            let own = state.entries.filter { $0.value.source == source }
            if own.count >= perSource, let oldest = own.min(by: { $0.value.order < $1.value.order }) {
                evicted.append(oldest.value.channel)
                state.entries[oldest.key] = nil
            } else if state.entries.count >= limit,
                let oldest = state.entries.min(by: { $0.value.order < $1.value.order })
            {
                evicted.append(oldest.value.channel)
                state.entries[oldest.key] = nil
            }
            state.entries[ObjectIdentifier(channel)] = Entry(channel: channel, source: source, order: state.next)
            state.next += 1
            return evicted
        }
    }

    func leave(_ channel: any Channel) { state.withLock { $0.entries[ObjectIdentifier(channel)] = nil } }
}

private final class MetricsHTTPHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let registry: PrometheusCollectorRegistry
    let health: (@Sendable () -> NodeHealth)?

    init(registry: PrometheusCollectorRegistry, health: (@Sendable () -> NodeHealth)?) {
        self.registry = registry
        self.health = health
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let request) = unwrapInboundIn(data) else { return }
        let path = request.uri.split(separator: "?", omittingEmptySubsequences: false).first ?? ""
        let (status, body): (HTTPResponseStatus, [UInt8]) =
            if request.method != .GET {
                (.methodNotAllowed, Array("only GET\n".utf8))
            } else if path == "/health", let health {
                Self.answer(health())
            } else if path != "/metrics" {
                (.notFound, Array("see /metrics\n".utf8))
            } else {
                (.ok, registry.emitToBuffer())
            }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain; version=0.0.4; charset=utf-8")
        headers.add(name: "Content-Length", value: "\(body.count)")
        headers.add(name: "Connection", value: "close")
        let head = HTTPResponseHead(version: request.version, status: status, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }

    /// 200 `healthy`, or 503 with the condition and its cause.
    static func answer(_ health: NodeHealth) -> (HTTPResponseStatus, [UInt8]) {
        health.condition == .healthy
            ? (.ok, Array("healthy\n".utf8)) : (.serviceUnavailable, Array("\(health)\n".utf8))
    }

    /// Bytes that are not HTTP have been answered 400 by the pipeline's error handler; the connection ends here.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
