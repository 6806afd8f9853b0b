import DSMR
import NIOCore
import NIOPosix
import Synchronization

/// A connection to a node's control socket.
///
/// Requests may be sent from several tasks at once; each waits for the
/// answer with its id. A closed connection fails every waiting request.
package final class ControlClient: Sendable {
    private struct State {
        var next: UInt64 = 1
        var waiting: [UInt64: CheckedContinuation<ControlResponse, any Error>] = [:]
        /// Requests whose time ran out before they were waiting (removed when they start).
        var expired: Set<UInt64> = []
        var closed = false
    }

    private let channel: any Channel
    private let state: Mutex<State>

    private init(channel: any Channel) {
        self.channel = channel
        self.state = Mutex(State())
    }

    /// Connects to the control socket at `path`.
    package static func connect(
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

    /// Sends `request` and waits at most `timeout` for the answer.
    ///
    /// - Throws: ``ControlError`` when the node refuses; ``ControlError/Code/failed``
    ///   when the connection closes first, the answer cannot be decoded, or
    ///   none came in time.
    package func send(_ request: ControlRequest, timeout: Duration = .seconds(30)) async throws -> ControlResponse {
        let id = state.withLock { state -> UInt64 in
            defer { state.next += 1 }
            return state.next
        }
        let timer = Task { [weak self] in
            try await Task.sleep(for: timeout)
            self?.expire(id, ControlError(.failed, "no answer within \(timeout)"))
        }
        defer { timer.cancel() }
        let response = try await withCheckedThrowingContinuation {
            (continuation: CheckedContinuation<ControlResponse, any Error>) in
            let refusal = state.withLock { state -> ControlError? in
                if state.closed { return ControlError(.failed, "the control connection is closed") }
                if state.expired.remove(id) != nil { return ControlError(.failed, "no answer within \(timeout)") }
                state.waiting[id] = continuation
                return nil
            }
            if let refusal {
                continuation.resume(throwing: refusal)
                return
            }
            channel.writeAndFlush(ControlFrame(id: id, payload: request.encoded())).whenFailure { error in
                self.finish(id, .failure(ControlError(.failed, "cannot send: \(error)")))
            }
        }
        if case .error(let error) = response { throw error }
        return response
    }

    /// Fails the request `id` with `error`, or marks it expired if it is not waiting yet.
    private func expire(_ id: UInt64, _ error: ControlError) {
        let continuation = state.withLock { state in
            let waiting = state.waiting.removeValue(forKey: id)
            if waiting == nil { state.expired.insert(id) }
            return waiting
        }
        continuation?.resume(throwing: error)
    }

    /// Fails every request now waiting for its answer with `reason`; the
    /// connection stays open, and answers that come later are dropped.
    /// For a caller that knows the node cannot answer soon (its process is
    /// stopped) and must not wait out each request's timeout.
    package func abandonWaiting(_ reason: String) {
        let waiting = state.withLock { state in
            defer { state.waiting = [:] }
            return state.waiting
        }
        for continuation in waiting.values { continuation.resume(throwing: ControlError(.failed, reason)) }
    }

    /// Closes the connection.
    package func close() async { try? await channel.close() }

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
