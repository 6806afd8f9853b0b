import DSMR
import DSMRNetwork
import Foundation
import SystemC

/// A blocking TCP socket that speaks the peer protocol's frames by hand, so
/// an attack can do what the transport never would (answer ids it was not
/// asked, never read).
final class RawPeerSocket: @unchecked Sendable {
    let descriptor: Int32

    init(descriptor: Int32) { self.descriptor = descriptor }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Connects to `host:port`; a small receive buffer makes the peer's
    /// answers back up sooner when they are never read.
    static func connect(host: String, port: Int, receiveBuffer: Int32? = nil) throws -> RawPeerSocket {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(description: "socket: \(errno)") }
        if var size = receiveBuffer {
            setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = try socketAddress(host: host, port: port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                SystemC.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            SystemC.close(descriptor)
            throw Failure(description: "connect to \(host):\(port): errno \(errno)")
        }
        return RawPeerSocket(descriptor: descriptor)
    }

    /// A listening socket on `host:port`.
    static func listen(host: String, port: Int) throws -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(description: "socket: \(errno)") }
        var one: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = try socketAddress(host: host, port: port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, SystemC.listen(descriptor, 64) == 0 else {
            SystemC.close(descriptor)
            throw Failure(description: "listen on \(host):\(port): errno \(errno)")
        }
        return descriptor
    }

    private static func socketAddress(host: String, port: Int) throws -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            throw Failure(description: "\(host) is not an IPv4 address")
        }
        return address
    }

    /// Writes every byte; throws once the peer closed or stopped reading for the send timeout.
    func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes {
                send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard written > 0 else { throw Failure(description: "send: errno \(errno)") }
            offset += written
        }
    }

    func write(_ frame: Frame) throws { try write(frame.encoded()) }

    /// Reads exactly `count` bytes.
    private func read(_ count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let got = bytes[offset...].withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard got > 0 else { throw Failure(description: "recv: closed or errno \(errno)") }
            offset += got
        }
        return bytes
    }

    /// Reads one frame (of at most 16 MiB).
    func readFrame() throws -> Frame {
        let header = try read(4)
        let length = header.reduce(0) { $0 << 8 | Int($1) }
        guard length <= 16 << 20 else { throw Failure(description: "a frame of \(length) bytes") }
        return try Frame(body: try read(length))
    }

    /// The dialer's side of the handshake, as `signer`, with the validator `peer`.
    func handshakeAsDialer(signer: Ed25519Signer, domain: SigningDomain, peer: NodeID) throws {
        let own = Hello.fresh(domain: domain, nodeID: signer.nodeID)
        try write(.hello(own))
        guard case .hello(let other) = try readFrame(), other.nodeID == peer else {
            throw Failure(description: "no hello from \(peer)")
        }
        try write(.proof(signature: try signer.sign(PeerHandshake.message(domain: domain, own: own, other: other))))
        guard case .proof = try readFrame() else { throw Failure(description: "no proof from \(peer)") }
    }

    /// The listener's side of the handshake, as `signer`; returns the dialer's hello.
    func handshakeAsListener(signer: Ed25519Signer, domain: SigningDomain) throws -> Hello {
        guard case .hello(let other) = try readFrame() else { throw Failure(description: "no hello") }
        let own = Hello.fresh(domain: domain, nodeID: signer.nodeID)
        try write(.hello(own))
        guard case .proof = try readFrame() else { throw Failure(description: "no proof") }
        try write(.proof(signature: try signer.sign(PeerHandshake.message(domain: domain, own: own, other: other))))
        return other
    }

    func close() { SystemC.close(descriptor) }
}
