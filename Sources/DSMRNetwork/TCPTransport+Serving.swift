import DSMR
import DSMRNode
import NIOCore

extension TCPTransport {
    /// Hands a peer's request to the handler, or answers overloaded when the
    /// peer has ``TCPTransportConfiguration/maxInFlightPerPeer`` in hand,
    /// when no handler is registered, or while shutting down.
    ///
    /// The request holds its share of the peer's capacity while the
    /// handler runs, not while its reply is written: the reply waits in the
    /// connection's backlog, which ``send(_:on:to:)`` bounds.
    func serve(request id: UInt64, _ payload: [UInt8], from peer: NodeID, on connection: Connection) {
        let admitted = state.withLock { state -> Result<any MessageHandler, ErrorReply> in
            let refusal: String
            if state.shuttingDown {
                refusal = "shutting down"
            } else if let handler = state.handler {
                if state.serving[peer, default: 0] < configuration.maxInFlightPerPeer {
                    state.serving[peer, default: 0] += 1
                    state.servingTotal += 1
                    return .success(handler)
                }
                refusal = "\(configuration.maxInFlightPerPeer) requests of \(peer) in hand"
            } else {
                refusal = "not serving yet"
            }
            state.statistics.overloadedReplies += 1
            return .failure(ErrorReply(.overloaded, refusal))
        }
        switch admitted {
        case .failure(let reply):
            let frame = Frame.response(id: id, payload: NodeMessage.error(reply).encoded())
            send(frame, on: connection, to: peer).whenFailure { _ in }
        case .success(let handler):
            Task {
                let answer = await handler.handleRequest(payload, from: peer)
                self.release(peer, request: true)
                send(.response(id: id, payload: answer), on: connection, to: peer).whenComplete { _ in
                    self.written()
                }
            }
        }
    }

    /// Hands a peer's gossip to the handler, or drops it when the peer has
    /// too much in hand.
    func serve(gossip payload: [UInt8], from peer: NodeID) {
        let handler = state.withLock { state -> (any MessageHandler)? in
            guard !state.shuttingDown, let handler = state.handler,
                state.serving[peer, default: 0] < configuration.maxInFlightPerPeer
            else {
                state.statistics.gossipDropped += 1
                return nil
            }
            state.serving[peer, default: 0] += 1
            state.servingTotal += 1
            return handler
        }
        guard let handler else { return }
        Task {
            await handler.handleGossip(payload, from: peer)
            self.release(peer, request: false)
            self.written()
        }
    }

    /// Writes `frame` to `peer` on `connection`, counting it in the
    /// connection's backlog until the socket takes it.
    ///
    /// When the backlog would pass ``TCPTransportConfiguration/maxOutboundBacklogBytes``
    /// nothing is written: the connection is closed (the peer does not read
    /// what it is sent) and the future fails with
    /// ``NetworkError/Code/outboundBacklog``.
    func send(_ frame: Frame, on connection: Connection, to peer: NodeID) -> EventLoopFuture<Void> {
        let bytes = frame.wireBytes
        let channel = connection.channel
        guard let backlog = connection.reserve(bytes, cap: configuration.maxOutboundBacklogBytes) else {
            let error = NetworkError(
                .outboundBacklog,
                "\(connection.backlogBytes) bytes not taken by the socket, the cap is \(configuration.maxOutboundBacklogBytes)"
            )
            overflowed(connection, peer: peer, error)
            return channel.eventLoop.makeFailedFuture(error)
        }
        var largest = largestBacklog.load(ordering: .relaxed)
        while backlog > largest {
            (_, largest) = largestBacklog.compareExchange(expected: largest, desired: backlog, ordering: .relaxed)
        }
        let written = channel.writeAndFlush(frame)
        let pauseBytes = Connection.pauseBytes(cap: configuration.maxOutboundBacklogBytes)
        written.whenComplete { _ in connection.release(bytes, pauseBytes: pauseBytes) }
        return written
    }

    /// Closes a connection whose peer does not read, once.
    private func overflowed(_ connection: Connection, peer: NodeID, _ error: NetworkError) {
        guard connection.markClosing() else { return }
        state.withLock { state in
            state.statistics.backlogOverflows += 1
            state.scores.update(peer, at: .now) { statistics in
                statistics.backlogOverflows += 1
                statistics.disconnects += 1
            }
        }
        configuration.logger.info(
            "closing connection", metadata: ["node": "\(local)", "peer": "\(peer)", "error": "\(error)"])
        connection.channel.close(promise: nil)
    }

    /// Gives back the share of `peer`'s capacity a request or gossip held.
    private func release(_ peer: NodeID, request: Bool) {
        state.withLock { state in
            state.serving[peer, default: 1] -= 1
            if state.serving[peer] == 0 { state.serving[peer] = nil }
            if request { state.statistics.requestsServed += 1 } else { state.statistics.gossipDelivered += 1 }
        }
    }

    /// A request's reply, or a gossip, is done with: shutdown need not wait for it.
    private func written() {
        let drained = state.withLock { state in
            state.servingTotal -= 1
            return state.takeDrainWaiters()
        }
        for waiter in drained { waiter.resume() }
    }
}
