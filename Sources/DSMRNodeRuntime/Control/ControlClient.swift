import DSMR
import NIOCore
import NIOPosix
import Synchronization

/// A connection to a node's control socket.
///
/// Requests may be sent from several tasks at once; each waits for the
/// answer with its id. A closed connection fails every waiting request.
public final class ControlClient: Sendable {
    private struct State {
        var next: UInt64 = 1
        var waiting: [UInt64: CheckedContinuation<ControlResponse, any Error>] = [:]
        var closed = false
    }

    private let channel: any Channel
    private let state: Mutex<State>

    private init(channel: any Channel) {
        self.channel = channel
        self.state = Mutex(State())
    }

    /// Connects to the control socket at `path`.
    public static func connect(
        path: String, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> ControlClient {
        let box = ClientBox()
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(ControlFrameDecoder()),
                        MessageToByteHandler(ControlFrameEncoder()),
                        ControlClientHandler(box: box),
                    ])
                }
            }
            .connect(unixDomainSocketPath: path)
            .get()
        let client = ControlClient(channel: channel)
        box.client.withLock { $0 = client }
        return client
    }

    /// Sends `request` and waits for the answer.
    ///
    /// - Throws: ``ControlError`` when the node refuses; ``ControlError/Code/failed``
    ///   when the connection closes first or the answer cannot be decoded.
    public func send(_ request: ControlRequest) async throws -> ControlResponse {
        let response = try await withCheckedThrowingContinuation {
            (continuation: CheckedContinuation<ControlResponse, any Error>) in
            let id = state.withLock { state -> UInt64? in
                guard !state.closed else { return nil }
                let id = state.next
                state.next += 1
                state.waiting[id] = continuation
                return id
            }
            guard let id else {
                continuation.resume(throwing: ControlError(.failed, "the control connection is closed"))
                return
            }
            channel.writeAndFlush(ControlFrame(id: id, payload: request.encoded())).whenFailure { error in
                self.finish(id, .failure(ControlError(.failed, "cannot send: \(error)")))
            }
        }
        if case .error(let error) = response { throw error }
        return response
    }

    /// Closes the connection.
    public func close() async { try? await channel.close() }

    fileprivate func finish(_ id: UInt64, _ result: Result<ControlResponse, any Error>) {
        let continuation = state.withLock { $0.waiting.removeValue(forKey: id) }
        continuation?.resume(with: result)
    }

    fileprivate func closed() {
        let waiting = state.withLock { state in
            state.closed = true
            defer { state.waiting = [:] }
            return state.waiting
        }
        for continuation in waiting.values {
            continuation.resume(throwing: ControlError(.failed, "the control connection closed"))
        }
    }
}

private final class ClientBox: Sendable {
    let client = Mutex<ControlClient?>(nil)
}

private final class ControlClientHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ControlFrame

    let box: ClientBox

    init(box: ClientBox) { self.box = box }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard let client = box.client.withLock({ $0 }) else { return }
        do {
            client.finish(frame.id, .success(try ControlResponse(decoding: frame.payload)))
        } catch {
            client.finish(frame.id, .failure(ControlError(.failed, "undecodable answer: \(error)")))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        box.client.withLock { $0 }?.closed()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
