import DSMR
import DSMRNode
import NIOCore
import NIOPosix

extension TCPTransport {
    public func request(
        _ request: [UInt8], to peer: NodeID, timeout: Duration
    ) async throws(TransportError) -> [UInt8] {
        let channel = try await connection(to: peer)
        let key = ObjectIdentifier(channel)
        let result = await withCheckedContinuation {
            (continuation: CheckedContinuation<Result<[UInt8], TransportError>, Never>) in
            let id = state.withLock { state -> UInt64? in
                guard !state.shuttingDown else { return nil }
                let id = state.nextRequestID
                state.nextRequestID += 1
                state.pending[id] = PendingRequest(peer: peer, channel: key, continuation: continuation)
                return id
            }
            guard let id else {
                continuation.resume(returning: .failure(TransportError(.unreachable, peer: peer, "shutting down")))
                return
            }
            channel.writeAndFlush(Frame.request(id: id, payload: request)).whenFailure { error in
                self.complete(id, .failure(TransportError(.unreachable, peer: peer, "write failed: \(error)")))
            }
            let timer = channel.eventLoop.scheduleTask(in: .nanoseconds(timeout.nanoseconds)) {
                self.complete(id, .failure(TransportError(.timeout, peer: peer, "no answer within \(timeout)")))
            }
            state.withLock { $0.pending[id]?.timer = timer }
        }
        return try result.get()
    }

    public func gossip(_ message: [UInt8], to peer: NodeID) async {
        guard let channel = try? await connection(to: peer) else { return }
        channel.writeAndFlush(Frame.gossip(payload: message), promise: nil)
    }

    /// Resumes the request numbered `id`, if it still waits.
    func complete(_ id: UInt64, _ result: Result<[UInt8], TransportError>) {
        let (waiting, drained) = state.withLock { state in
            (state.pending.removeValue(forKey: id), state.takeDrainWaiters())
        }
        waiting?.timer?.cancel()
        waiting?.continuation.resume(returning: result)
        for waiter in drained { waiter.resume() }
    }

    /// The authenticated connection to `peer`, dialed if there is none.
    func connection(to peer: NodeID) async throws(TransportError) -> any Channel {
        enum Step {
            case use(any Channel)
            case wait(EventLoopFuture<any Channel>)
            case dial(PeerAddress, EventLoopPromise<any Channel>)
        }
        let step = try state.withLock { state throws(TransportError) -> Step in
            guard !state.shuttingDown else { throw TransportError(.unreachable, peer: peer, "shutting down") }
            switch state.links[peer] {
            case .ready(let channel): return .use(channel)
            case .connecting(let future): return .wait(future)
            case .failed(let until, let reason) where ContinuousClock.now < until:
                throw TransportError(.unreachable, peer: peer, "\(reason); next dial in \(until - .now)")
            case .failed, nil:
                guard let address = state.addresses[peer] else {
                    throw TransportError(.unreachable, peer: peer, "no address known for \(peer)")
                }
                let promise = group.next().makePromise(of: (any Channel).self)
                state.links[peer] = .connecting(promise.futureResult)
                return .dial(address, promise)
            }
        }
        let future: EventLoopFuture<any Channel>
        switch step {
        case .use(let channel): return channel
        case .wait(let waiting): future = waiting
        case .dial(let address, let promise):
            dial(peer, at: address, promise: promise)
            future = promise.futureResult
        }
        do {
            return try await future.get()
        } catch {
            throw TransportError(.unreachable, peer: peer, "cannot connect: \(error)")
        }
    }

    private func dial(_ peer: NodeID, at address: PeerAddress, promise: EventLoopPromise<any Channel>) {
        promise.futureResult.whenComplete { result in self.dialed(peer, result) }
        ClientBootstrap(group: promise.futureResult.eventLoop)
            .connectTimeout(.nanoseconds(configuration.connectTimeout.nanoseconds))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try self.addHandlers(to: channel, role: .dialer(peer), authenticated: promise)
                }
            }
            .connect(host: address.host, port: address.port)
            .whenFailure { promise.fail($0) }
    }

    private func dialed(_ peer: NodeID, _ result: Result<any Channel, any Error>) {
        switch result {
        case .success(let channel):
            state.withLock { state in
                state.links[peer] = .ready(channel)
                state.backoffs[peer] = nil
            }
            configuration.logger.debug("connected", metadata: ["node": "\(local)", "peer": "\(peer)"])
            channel.closeFuture.whenComplete { _ in self.closed(outbound: channel, to: peer) }
        case .failure(let error):
            let backoff = state.withLock { state -> Duration in
                let backoff = state.backoffs[peer] ?? configuration.reconnectBackoff
                state.backoffs[peer] = min(backoff * 2, configuration.maxReconnectBackoff)
                state.links[peer] = .failed(until: .now + backoff, reason: "\(error)")
                return backoff
            }
            configuration.logger.debug(
                "dial failed",
                metadata: [
                    "node": "\(local)", "peer": "\(peer)", "error": "\(error)",
                    "retry after": "\(backoff)",
                ])
        }
    }

    /// Forgets a closed dialed connection and fails the requests waiting on it.
    private func closed(outbound channel: any Channel, to peer: NodeID) {
        let key = ObjectIdentifier(channel)
        let (failed, drained) = state.withLock { state in
            if case .ready(let current) = state.links[peer], current === channel { state.links[peer] = nil }
            let failed = state.pending.filter { $0.value.channel == key }
            for id in failed.keys { state.pending[id] = nil }
            return (failed.values, state.takeDrainWaiters())
        }
        for request in failed {
            request.continuation.resume(
                returning: .failure(TransportError(.unreachable, peer: peer, "connection to \(peer) closed")))
        }
        for waiter in drained { waiter.resume() }
    }
}

extension Duration {
    /// The duration in whole nanoseconds, saturating.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : scaled + attoseconds / 1_000_000_000
    }
}
