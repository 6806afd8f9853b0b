import DSMR
import DSMRNode
import NIOCore

extension TCPTransport {
    /// Hands a peer's request to the handler, or answers overloaded when the
    /// peer has ``TCPTransportConfiguration/maxInFlightPerPeer`` in hand,
    /// when no handler is registered, or while shutting down.
    func serve(request id: UInt64, _ payload: [UInt8], from peer: NodeID, on channel: any Channel) {
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
            channel.writeAndFlush(Frame.response(id: id, payload: NodeMessage.error(reply).encoded()), promise: nil)
        case .success(let handler):
            Task {
                let answer = await handler.handleRequest(payload, from: peer)
                channel.writeAndFlush(Frame.response(id: id, payload: answer)).whenComplete { _ in
                    self.finishServing(peer, request: true)
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
            self.finishServing(peer, request: false)
        }
    }

    private func finishServing(_ peer: NodeID, request: Bool) {
        let drained = state.withLock { state in
            state.serving[peer, default: 1] -= 1
            if state.serving[peer] == 0 { state.serving[peer] = nil }
            state.servingTotal -= 1
            if request { state.statistics.requestsServed += 1 } else { state.statistics.gossipDelivered += 1 }
            return state.takeDrainWaiters()
        }
        for waiter in drained { waiter.resume() }
    }

    /// Tracks an accepted connection in its handshake; false (close it)
    /// while shutting down or when too many are in their handshake.
    func accepted(_ channel: any Channel) -> Bool {
        state.withLock { state in
            guard !state.shuttingDown, state.handshaking < configuration.maxPendingHandshakes else {
                state.statistics.handshakesRefused += 1
                return false
            }
            state.handshaking += 1
            state.inbound[ObjectIdentifier(channel)] = channel
            return true
        }
    }

    /// An accepted connection left its handshake, done or failed.
    func handshakeEnded() {
        state.withLock { $0.handshaking -= 1 }
    }

    /// Counts an authenticated accepted connection of `peer`; false (close
    /// it) when the peer already holds its share.
    func authenticated(inbound channel: any Channel, from peer: NodeID) -> Bool {
        state.withLock { state in
            guard state.inboundCount[peer, default: 0] < configuration.maxConnectionsPerPeer else { return false }
            state.inboundCount[peer, default: 0] += 1
            return true
        }
    }

    /// Forgets an accepted connection.
    func closed(inbound channel: any Channel, peer: NodeID?) {
        state.withLock { state in
            state.inbound[ObjectIdentifier(channel)] = nil
            if let peer {
                state.inboundCount[peer, default: 1] -= 1
                if state.inboundCount[peer] == 0 { state.inboundCount[peer] = nil }
            }
        }
    }

    /// Counts a connection closed for a bad frame or handshake.
    func refused(_ error: NetworkError) {
        state.withLock { state in
            switch error.code {
            case .frameTooLarge, .malformedFrame: state.statistics.framesRefused += 1
            default: state.statistics.handshakesRefused += 1
            }
        }
    }
}
