import DSMR
import DSMRNode
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// The node's `Transport` over TCP and TLS 1.3.
///
/// Each node dials the peers it sends to and listens for the peers that send
/// to it: requests and gossip travel on the sender's own connection and
/// answers come back on it. Every connection runs TLS 1.3 (see ``LinkSecurity``),
/// and inside it starts with the ``PeerHandshake``; a peer that is not a
/// validator of the current set, cannot prove it holds the key, or whose
/// proof was not made for this connection's TLS keys, is disconnected
/// before any of its frames reaches the `MessageHandler`.
///
/// A failed dial is retried on the next request or gossip to that peer,
/// after a backoff that doubles with each failure; until then the peer is
/// reported `TransportError.Code.unreachable`. A closed
/// connection fails the requests waiting on it and is dialed again on next use.
public final class TCPTransport: Transport {
    /// This node's id.
    public let local: NodeID
    /// The configuration the transport runs with.
    public let configuration: TCPTransportConfiguration
    /// The port the transport listens on.
    public let port: Int
    let group: any EventLoopGroup
    let state: Mutex<TransportState>
    /// The largest backlog seen on one connection, in bytes.
    let largestBacklog = Atomic<Int>(0)
    /// The TLS contexts; nil on a ``LinkSecurity/plaintextForMeasurementOnly`` transport.
    let tls: TLSLinks?
    private let listener: any Channel

    /// Starts listening on the configured address.
    ///
    /// - Parameters:
    ///   - configuration: the node's key, network, validator set, address
    ///     and bounds.
    ///   - group: the event loops connections run on; the shared
    ///     singleton by default.
    /// - Throws: ``NetworkError/Code/tlsSetup`` when the TLS certificate or
    ///   contexts cannot be made; the listener's error when it cannot bind.
    public init(
        _ configuration: TCPTransportConfiguration,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws {
        self.local = configuration.signer.nodeID
        self.configuration = configuration
        self.group = group
        self.state = Mutex(TransportState(configuration))
        switch configuration.linkSecurity {
        case .tls: tls = try TLSLinks(identity: configuration.tlsIdentity ?? TLSIdentity.generate())
        case .plaintextForMeasurementOnly:
            tls = nil
            configuration.logger.warning(
                "links are plaintext: frames can be read, changed and injected on the path (for measurement only)",
                metadata: ["node": "\(configuration.signer.nodeID)"])
        }
        let core = ListenerCore()
        listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // A small kernel send buffer on served connections: a peer that
            // never reads stops being read (the backlog check) after a few
            // hundred replies, not after the megabytes an autotuned buffer holds.
            .childChannelOption(.socketOption(.so_sndbuf), value: 128 * 1_024)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let transport = core.transport else { throw NetworkError(.shuttingDown, "not started") }
                    try transport.addHandlers(to: channel, role: .listener, authenticated: nil)
                }
            }
            .bind(host: configuration.host, port: configuration.port)
            .get()
        port = listener.localAddress?.port ?? configuration.port
        core.transport = self
        configuration.logger.info("listening", metadata: ["node": "\(local)", "port": "\(port)"])
    }

    /// Where `peer` listens; requests and gossip to it dial this address.
    ///
    /// Connections from the IP address `host` names (resolved now, when it
    /// is a name) get handshake slots kept for the validators there; see
    /// ``TCPTransportConfiguration/maxPendingHandshakesPerAddress``.
    public func setAddress(host: String, port: Int, of peer: NodeID) {
        let resolved =
            (try? SocketAddress(ipAddress: host, port: port))
            ?? (try? SocketAddress.makeAddressResolvingHost(host, port: port))
        let address = PeerAddress(host: host, port: port, source: resolved?.sourceKey)
        state.withLock { $0.addresses[peer] = address }
    }

    public func register(_ handler: any MessageHandler) {
        state.withLock { $0.handler = handler }
    }

    /// Counts of what the transport refused and served so far.
    public var statistics: TransportStatistics {
        var statistics = state.withLock { $0.statistics }
        statistics.largestOutboundBacklog = largestBacklog.load(ordering: .relaxed)
        return statistics
    }

    /// Sets up a new connection's pipeline: TLS first (unless plaintext),
    /// then frames. An accepted connection is not read from while its
    /// replies do not drain (see ``FrameReader``).
    func addHandlers(
        to channel: any Channel, role: ConnectionHandler.Role, authenticated: EventLoopPromise<Connection>?
    ) throws {
        let connection = Connection(channel: channel)
        let pauses = if case .listener = role { true } else { false }
        let pauseBytes = Connection.pauseBytes(cap: configuration.maxOutboundBacklogBytes)
        if let tls {
            let dialer = if case .dialer = role { true } else { false }
            try channel.pipeline.syncOperations.addHandler(try tls.handler(dialer: dialer))
        }
        try channel.pipeline.syncOperations.addHandlers([
            FrameReader(
                maxFrameBytes: configuration.maxFrameBytes, pausing: pauses ? connection : nil, pauseBytes: pauseBytes),
            MessageToByteHandler(FrameEncoder()),
            ConnectionHandler(transport: self, role: role, connection: connection, authenticated: authenticated),
        ])
    }

    /// Stops taking new work, finishes what is in hand, then closes every connection.
    ///
    /// Requests and gossip already being handled run to the end and their
    /// answers are written; requests that arrive meanwhile get an
    /// `ErrorReply.Code.overloaded` reply; this node's own
    /// requests still waiting get their answer or their timeout. New
    /// requests from this node fail as unreachable. Connections are closed
    /// after `deadline` even if some work is still in hand (a handler that
    /// never returns cannot hold the node open).
    public func shutdown(within deadline: Duration = .seconds(10)) async {
        state.withLock { $0.shuttingDown = true }
        try? await listener.close()
        let timer = Task {
            try? await Task.sleep(for: deadline)
            let waiters = state.withLock { state in
                defer { state.drainWaiters = [] }
                return state.drainWaiters
            }
            if !waiters.isEmpty {
                configuration.logger.warning(
                    "work still in hand at the shutdown deadline", metadata: ["node": "\(local)"])
            }
            for waiter in waiters { waiter.resume() }
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                if state.isDrained { return true }
                state.drainWaiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
        timer.cancel()
        let channels = state.withLock { state -> [any Channel] in
            let outbound = state.links.values.compactMap { link -> (any Channel)? in
                if case .ready(let connection) = link { return connection.channel }
                return nil
            }
            state.links = [:]
            return state.inbound.values.map(\.connection.channel) + outbound
        }
        for channel in channels { try? await channel.close() }
        configuration.logger.info("stopped", metadata: ["node": "\(local)"])
    }
}

/// Lets the listener's child initializer reach the transport being built.
/// Until it is set, a connection is closed at once.
private final class ListenerCore: Sendable {
    private let value = Mutex<TCPTransport?>(nil)
    var transport: TCPTransport? {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}
