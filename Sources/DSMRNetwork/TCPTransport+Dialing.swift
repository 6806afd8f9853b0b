import DSMR
import DSMRNode
import NIOCore
import NIOPosix

extension TCPTransport {
    /// The authenticated connection to `peer`, dialed if there is none.
    func connection(to peer: NodeID) async throws(TransportError) -> Connection {
        enum Step {
            case use(Connection)
            case wait(EventLoopFuture<Connection>)
            case dial(PeerAddress, EventLoopPromise<Connection>)
        }
        let step = try state.withLock { state throws(TransportError) -> Step in
            guard !state.shuttingDown else { throw TransportError(.unreachable, peer: peer, "shutting down") }
            let now = ContinuousClock.now
            if let until = state.scores.banEnd(of: peer, at: now) {
                throw TransportError(.unreachable, peer: peer, "\(peer) is banned for another \(until - now)")
            }
            switch state.links[peer] {
            case .ready(let connection): return .use(connection)
            case .connecting(let future): return .wait(future)
            case .failed(let until, let reason) where now < until:
                throw TransportError(.unreachable, peer: peer, "\(reason); next dial in \(until - now)")
            case .failed, nil:
                guard let address = state.addresses[peer] else {
                    throw TransportError(.unreachable, peer: peer, "no address known for \(peer)")
                }
                let promise = group.next().makePromise(of: Connection.self)
                state.links[peer] = .connecting(promise.futureResult)
                return .dial(address, promise)
            }
        }
        let future: EventLoopFuture<Connection>
        switch step {
        case .use(let connection): return connection
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

    private func dial(_ peer: NodeID, at address: PeerAddress, promise: EventLoopPromise<Connection>) {
        promise.futureResult.whenComplete { result in self.dialed(peer, result) }
        var bootstrap = ClientBootstrap(group: promise.futureResult.eventLoop)
            .connectTimeout(.nanoseconds(configuration.connectTimeout.nanoseconds))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try self.addHandlers(to: channel, role: .dialer(peer), authenticated: promise)
                }
            }
        if let local = configuration.dialFrom {
            do {
                bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: local, port: 0))
            } catch {
                promise.fail(error)
                return
            }
        }
        bootstrap.connect(host: address.host, port: address.port).whenFailure { promise.fail($0) }
    }

    private func dialed(_ peer: NodeID, _ result: Result<Connection, any Error>) {
        switch result {
        case .success(let connection):
            state.withLock { state in
                state.links[peer] = .ready(connection)
                state.backoffs[peer] = nil
            }
            configuration.logger.debug("connected", metadata: ["node": "\(local)", "peer": "\(peer)"])
            connection.channel.closeFuture.whenComplete { _ in self.closed(outbound: connection, to: peer) }
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
    private func closed(outbound connection: Connection, to peer: NodeID) {
        let (failed, drained) = state.withLock { state in
            if case .ready(let current) = state.links[peer], current === connection { state.links[peer] = nil }
            var table = state.requests.removeValue(forKey: ObjectIdentifier(connection))
            let failed = table?.removeAll() ?? []
            state.pendingCount -= failed.count
            return (failed, state.takeDrainWaiters())
        }
        for request in failed {
            request.timer?.cancel()
            request.continuation.resume(
                returning: .failure(TransportError(.unreachable, peer: peer, "connection to \(peer) closed")))
        }
        for waiter in drained { waiter.resume() }
    }
}
