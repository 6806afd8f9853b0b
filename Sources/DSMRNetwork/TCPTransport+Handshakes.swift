import DSMR
import DSMRNode
import NIOCore

extension TCPTransport {
    /// Admits an accepted connection to its handshake (see ``HandshakeSlots``),
    /// closing an older waiting one when its slots are full; false (close
    /// it) while shutting down or when there is no slot at all.
    func accepted(_ connection: Connection, from remote: SocketAddress?) -> Bool {
        let key = ObjectIdentifier(connection)
        let source = remote?.sourceKey ?? "unknown"
        let (admitted, evicted) = state.withLock { state -> (Bool, Connection?) in
            guard !state.shuttingDown else {
                state.statistics.handshakesRefused += 1
                return (false, nil)
            }
            let validators = state.validators(at: source)
            switch state.handshakes.admit(key, connection, from: source, validators: validators) {
            case .refused:
                state.statistics.handshakesRefused += 1
                return (false, nil)
            case .admitted(let evicted):
                if evicted != nil { state.statistics.handshakesEvicted += 1 }
                state.inbound[key] = Inbound(connection: connection)
                return (true, evicted)
            }
        }
        if let evicted {
            configuration.logger.debug(
                "closing a waiting handshake for a newer one",
                metadata: ["node": "\(local)", "remote": "\(source)"])
            evicted.channel.close(promise: nil)
        }
        return admitted
    }

    /// An accepted connection left its handshake, done, failed or closed.
    func handshakeEnded(_ connection: Connection) {
        state.withLock { _ = $0.handshakes.remove(ObjectIdentifier(connection)) }
    }

    /// Counts an authenticated accepted connection of `peer`; false (close
    /// it) when the peer already holds its share.
    func authenticated(inbound connection: Connection, from peer: NodeID) -> Bool {
        state.withLock { state in
            guard state.inboundCount[peer, default: 0] < configuration.maxConnectionsPerPeer else { return false }
            state.inboundCount[peer, default: 0] += 1
            state.inbound[ObjectIdentifier(connection)]?.peer = peer
            return true
        }
    }

    /// Forgets an accepted connection.
    func closed(inbound connection: Connection, peer: NodeID?) {
        state.withLock { state in
            state.inbound[ObjectIdentifier(connection)] = nil
            if let peer {
                state.inboundCount[peer, default: 1] -= 1
                if state.inboundCount[peer] == 0 { state.inboundCount[peer] = nil }
            }
        }
    }

    /// Counts a connection closed for a bad frame, handshake or TLS record;
    /// a frame out of turn counts as a refused handshake before the peer proved itself
    /// and as a refused frame after.
    func refused(_ error: NetworkError, duringHandshake: Bool) {
        state.withLock { state in
            switch error.code {
            case .frameTooLarge, .malformedFrame: state.statistics.framesRefused += 1
            case .tlsFailure: state.statistics.tlsFailures += 1
            // Counted where they are found.
            case .unsolicitedAnswer, .outboundBacklog: break
            default:
                if duringHandshake {
                    state.statistics.handshakesRefused += 1
                } else {
                    state.statistics.framesRefused += 1
                }
            }
        }
    }
}

extension SocketAddress {
    /// The IP address, as connections from it are counted: an IPv4 address
    /// mapped into IPv6 (`::ffff:a.b.c.d`) as the plain IPv4 address.
    var sourceKey: String? {
        guard let ip = ipAddress else { return nil }
        let mapped = "::ffff:"
        if ip.lowercased().hasPrefix(mapped), ip.contains(".") { return String(ip.dropFirst(mapped.count)) }
        return ip
    }
}
