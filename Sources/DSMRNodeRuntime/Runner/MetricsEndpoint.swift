import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import Synchronization

/// Serves a Prometheus registry as text on `GET /metrics` over HTTP/1.1;
/// any other path is 404 and any other method 405.
///
/// Anyone who can reach the address can connect, so connections are
/// bounded: at most `maxConnections` are open at once (a further one is
/// closed as soon as it is accepted), and each is closed `requestTimeout`
/// after it was accepted, answered or not. Idle or slow clients cannot pile
/// up in the node.
package final class MetricsEndpoint: Sendable {
    /// The port it listens on.
    package let port: Int
    private let channel: any Channel

    /// Listens on `host:port` (port 0 picks a free one).
    package init(
        registry: PrometheusCollectorRegistry, host: String, port: Int, maxConnections: Int = 16,
        requestTimeout: Duration = .seconds(5), group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws {
        let open = ConnectionCount(limit: maxConnections)
        let lifetime = TimeAmount.nanoseconds(Int64(requestTimeout / .nanoseconds(1)))
        channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                guard open.enter() else {
                    return channel.eventLoop.makeFailedFuture(ChannelError.inappropriateOperationForState)
                }
                let deadline = channel.eventLoop.scheduleTask(in: lifetime) { channel.close(promise: nil) }
                channel.closeFuture.whenComplete { _ in
                    deadline.cancel()
                    open.leave()
                }
                return channel.pipeline.configureHTTPServerPipeline().flatMapThrowing {
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(registry: registry))
                }
            }
            .bind(host: host, port: port)
            .get()
        self.port = channel.localAddress?.port ?? port
    }

    /// Stops listening.
    package func close() async { try? await channel.close() }
}

/// The endpoint's open connections, against their bound.
private final class ConnectionCount: Sendable {
    private let count = Mutex(0)
    private let limit: Int

    init(limit: Int) { self.limit = limit }

    /// Counts one more connection; false (and not counted) at the bound.
    func enter() -> Bool {
        count.withLock { count in
            guard count < limit else { return false }
            count += 1
            return true
        }
    }

    func leave() { count.withLock { $0 -= 1 } }
}

private final class MetricsHTTPHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let registry: PrometheusCollectorRegistry

    init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let request) = unwrapInboundIn(data) else { return }
        let (status, body): (HTTPResponseStatus, [UInt8]) =
            if request.method != .GET {
                (.methodNotAllowed, Array("only GET\n".utf8))
            } else if request.uri.split(separator: "?").first != "/metrics" {
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

    /// Bytes that are not HTTP have been answered 400 by the pipeline's error handler; the connection ends here.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
