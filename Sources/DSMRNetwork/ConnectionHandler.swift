import DSMR
import DSMRNode
import NIOCore
import NIOSSL

/// Runs one connection, behind its TLS handler: the ``PeerHandshake``
/// first, then the frames of an authenticated peer. Any frame out of turn,
/// any bad frame and any failed check closes the connection; after the
/// handshake, each is an offence charged to the peer (see ``PeerScores``).
/// A TLS failure (a record that does not authenticate) closes it too, but
/// is not charged: anyone on the path can cause one.
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = Frame
    typealias OutboundOut = Frame

    /// Which end of the connection this node is.
    enum Role {
        /// This node dialed `peer`; it sends requests and gossip, and reads answers.
        case dialer(NodeID)
        /// The peer dialed this node; it reads requests and gossip, and writes answers.
        case listener
    }

    private enum Phase {
        case awaitingHello
        case awaitingProof(other: Hello, validator: Validator, binding: TLSBinding)
        case authenticated(NodeID)
        case closed
    }

    private let transport: TCPTransport
    private let role: Role
    private let connection: Connection
    private let authenticatedPromise: EventLoopPromise<Connection>?
    private let own: Hello
    private var phase = Phase.awaitingHello
    private var timeout: Scheduled<Void>?
    private var helloTimeout: Scheduled<Void>?
    /// The peer this accepted connection is counted for, once authenticated.
    private var countedPeer: NodeID?
    /// Whether this accepted connection holds a handshake slot.
    private var inHandshake = false

    init(
        transport: TCPTransport, role: Role, connection: Connection, authenticated: EventLoopPromise<Connection>?
    ) {
        self.transport = transport
        self.role = role
        self.connection = connection
        self.authenticatedPromise = authenticated
        self.own = Hello.fresh(domain: transport.configuration.domain, nodeID: transport.local)
    }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        let transport = self.transport
        if case .listener = role {
            guard transport.accepted(connection, from: context.remoteAddress) else {
                phase = .closed
                context.close(promise: nil)
                return
            }
            inHandshake = true
            let limit = transport.configuration.helloTimeout
            helloTimeout = context.eventLoop.scheduleTask(in: .nanoseconds(limit.nanoseconds)) {
                transport.refused(NetworkError(.handshakeTimeout, "no hello within \(limit)"), duringHandshake: true)
                channel.close(promise: nil)
            }
        }
        let limit = transport.configuration.handshakeTimeout
        timeout = context.eventLoop.scheduleTask(in: .nanoseconds(limit.nanoseconds)) {
            transport.refused(NetworkError(.handshakeTimeout, "no handshake within \(limit)"), duringHandshake: true)
            channel.close(promise: nil)
        }
        if case .dialer = role { context.writeAndFlush(wrapOutboundOut(.hello(own)), promise: nil) }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        // Frames decoded from the same read as a refused one are dropped.
        if case .closed = phase { return }
        do {
            try handle(frame, context: context)
        } catch {
            fail(context, error)
        }
    }

    private func handle(_ frame: Frame, context: ChannelHandlerContext) throws(NetworkError) {
        switch (phase, frame, role) {
        case (.awaitingHello, .hello(let other), _):
            helloTimeout?.cancel()
            let validator = try check(other)
            // Frames arrive only after the TLS handshake, so the peer's certificate is known.
            let binding = try binding(context)
            phase = .awaitingProof(other: other, validator: validator, binding: binding)
            switch role {
            case .dialer:
                context.writeAndFlush(wrapOutboundOut(.proof(signature: try sign(other, binding))), promise: nil)
            case .listener: context.writeAndFlush(wrapOutboundOut(.hello(own)), promise: nil)
            }
        case (.awaitingProof(let other, let validator, let binding), .proof(let signature), _):
            try PeerHandshake.checkProof(
                signature, from: validator, domain: transport.configuration.domain, own: own, other: other,
                binding: binding)
            if case .listener = role {
                guard transport.authenticated(inbound: connection, from: other.nodeID) else {
                    throw NetworkError(.unexpectedFrame, "\(other.nodeID) holds too many connections")
                }
                countedPeer = other.nodeID
                context.writeAndFlush(wrapOutboundOut(.proof(signature: try sign(other, binding))), promise: nil)
            }
            phase = .authenticated(other.nodeID)
            timeout?.cancel()
            endHandshake()
            authenticatedPromise?.succeed(connection)
        case (.authenticated(let peer), .request(let id, let payload), .listener):
            transport.serve(request: id, payload, from: peer, on: connection)
        case (.authenticated(let peer), .gossip(let payload), .listener):
            transport.serve(gossip: payload, from: peer)
        case (.authenticated(let peer), .response(let id, let payload), .dialer):
            switch transport.answer(id, payload, on: connection, from: peer) {
            case .completed: break
            case .late:
                transport.configuration.logger.debug(
                    "dropping a late answer",
                    metadata: ["node": "\(transport.local)", "peer": "\(peer)", "id": "\(id)"])
            case .unsolicited:
                throw NetworkError(.unsolicitedAnswer, "answer to request id \(id), never sent on this connection")
            }
        default:
            throw NetworkError(.unexpectedFrame, "\(frame.kind) frame out of turn")
        }
    }

    private func check(_ other: Hello) throws(NetworkError) -> Validator {
        let validators: ValidatorSet
        do {
            validators = try transport.configuration.validators()
        } catch {
            throw NetworkError(.notAValidator, "the current validator set is unknown: \(error)")
        }
        let expected: NodeID? = if case .dialer(let peer) = role { peer } else { nil }
        let validator = try PeerHandshake.checkHello(
            other, domain: transport.configuration.domain, local: transport.local, validators: validators,
            expected: expected)
        if let end = transport.banEnd(of: other.nodeID) {
            throw NetworkError(.peerBanned, "\(other.nodeID) is banned for another \(end - .now)")
        }
        return validator
    }

    /// This connection's TLS keys: this node's certificate's and the one the
    /// peer presented; the plaintext binding on a plaintext link.
    private func binding(_ context: ChannelHandlerContext) throws(NetworkError) -> TLSBinding {
        guard let tls = transport.tls else { return .plaintext }
        return TLSBinding(
            own: tls.identity.keyHash, peer: try TLSLinks.peerKeyHash(on: context.pipeline.syncOperations))
    }

    private func sign(_ other: Hello, _ binding: TLSBinding) throws(NetworkError) -> [UInt8] {
        let message = PeerHandshake.message(
            domain: transport.configuration.domain, own: own, other: other, binding: binding)
        do {
            return try transport.configuration.signer.sign(message)
        } catch {
            throw NetworkError(.signingFailed, "cannot sign the handshake: \(error)")
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch error {
        case NIOSSLError.uncleanShutdown:
            // The peer closed TCP without TLS's close_notify: a close, not an attack on what was read.
            context.close(promise: nil)
        case is NIOSSLError, is BoringSSLError:
            fail(context, NetworkError(.tlsFailure, "\(error)"))
        default:
            fail(context, error)
        }
    }

    private func fail(_ context: ChannelHandlerContext, _ error: any Error) {
        let peer: NodeID?
        switch phase {
        case .closed: return
        case .authenticated(let authenticated): peer = authenticated
        case .awaitingHello, .awaitingProof: peer = nil
        }
        phase = .closed
        if let error = error as? NetworkError {
            transport.refused(error, duringHandshake: peer == nil)
            if let peer, error.code != .tlsFailure, connection.markClosing() {
                transport.misbehaved(peer, error, on: connection)
            }
        }
        transport.configuration.logger.info(
            "closing connection",
            metadata: [
                "node": "\(transport.local)", "remote": "\(context.remoteAddress.map { "\($0)" } ?? "?")",
                "peer": "\(peer.map { "\($0)" } ?? "unauthenticated")", "error": "\(error)",
            ])
        authenticatedPromise?.fail(error)
        context.close(promise: nil)
    }

    private func endHandshake() {
        helloTimeout?.cancel()
        if inHandshake { transport.handshakeEnded(connection) }
        inHandshake = false
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeout?.cancel()
        endHandshake()
        authenticatedPromise?.fail(NetworkError(.unexpectedFrame, "connection closed during the handshake"))
        if case .listener = role { transport.closed(inbound: connection, peer: countedPeer) }
        phase = .closed
        context.fireChannelInactive()
    }
}
