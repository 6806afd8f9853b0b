import DSMR
import NIOCore
import NIOPosix
import SystemC

/// Answers ``ControlRequest``s on a Unix socket.
///
/// The socket is the node's privileged interface (it can order blocks), so
/// it is a file with mode 0600 in the node's directory: only the node's own
/// user can connect. Each request is handled in its own task; a request that
/// cannot be decoded gets a ``ControlError/Code/malformed`` answer.
package final class ControlServer: Sendable {
    /// The socket's path.
    package let path: String
    private let channel: any Channel

    /// Listens on `path` (a stale socket file there is replaced) and hands
    /// each request to `handler`.
    package init(
        path: String, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        handler: @escaping @Sendable (ControlRequest) async -> ControlResponse
    ) async throws {
        guard path.utf8.count < 104 else {
            throw ControlError(.failed, "control socket path \(path) is longer than a Unix socket allows (103 bytes)")
        }
        self.path = path
        // The socket is created with mode 0600 (no moment with a wider one).
        let previousMask = umask(0o077)
        defer { umask(previousMask) }
        channel = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(ControlFrameDecoder()),
                        MessageToByteHandler(ControlFrameEncoder()),
                        ControlServerHandler(handler: handler),
                    ])
                }
            }
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true)
            .get()
        guard chmod(path, 0o600) == 0 else {
            try? await channel.close()
            throw ControlError(.failed, "cannot make the control socket \(path) owner-only")
        }
    }

    /// Stops listening and removes the socket file.
    package func close() async {
        try? await channel.close()
        unlink(path)
    }
}

/// Decodes each request, runs the handler in a task and writes its answer with the request's id.
private final class ControlServerHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ControlFrame

    let handler: @Sendable (ControlRequest) async -> ControlResponse

    init(handler: @escaping @Sendable (ControlRequest) async -> ControlResponse) { self.handler = handler }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let channel = context.channel
        let handler = self.handler
        Task {
            let response: ControlResponse
            do {
                response = await handler(try ControlRequest(decoding: frame.payload))
            } catch {
                response = .error(ControlError(.malformed, "\(error)"))
            }
            channel.writeAndFlush(ControlFrame(id: frame.id, payload: response.encoded()), promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
