import DSMR

/// One message on a connection between validators.
///
/// On the wire a frame is `length (u32 BE) || kind (u8) || fields`, where
/// `length` counts the bytes after itself. The handshake's two frames have
/// fixed sizes; requests and responses carry a request id (u64 BE) before
/// their payload; gossip carries its payload alone. Payloads are encoded
/// `NodeMessage`s, which the transport does not look into.
public enum Frame: Hashable, Sendable {
    /// The first frame each side sends.
    case hello(Hello)
    /// A handshake signature, see ``PeerHandshake``.
    case proof(signature: [UInt8])
    /// A request that expects a ``response(id:payload:)`` with the same id.
    case request(id: UInt64, payload: [UInt8])
    /// The answer to the request numbered `id`.
    case response(id: UInt64, payload: [UInt8])
    /// A one-way message.
    case gossip(payload: [UInt8])

    /// The kind byte of each frame.
    package enum Kind: UInt8, Sendable {
        case hello = 1, proof, request, response, gossip
    }

    /// The bytes of the length prefix.
    public static let headerBytes = 4
    /// The bytes of an Ed25519 handshake signature.
    package static let signatureBytes = 64

    /// The frame's kind.
    package var kind: Kind {
        switch self {
        case .hello: .hello
        case .proof: .proof
        case .request: .request
        case .response: .response
        case .gossip: .gossip
        }
    }

    /// The frame's size on the wire, length prefix included.
    package var wireBytes: Int {
        let fields =
            switch self {
            case .hello: Hello.encodedBytes
            case .proof(let signature): signature.count
            case .request(_, let payload), .response(_, let payload): 8 + payload.count
            case .gossip(let payload): payload.count
            }
        return Self.headerBytes + 1 + fields
    }

    /// The frame's body: everything after the length prefix.
    package func encodedBody() -> [UInt8] {
        var bytes: [UInt8] = [kind.rawValue]
        switch self {
        case .hello(let hello): bytes += hello.encoded()
        case .proof(let signature): bytes += signature
        case .request(let id, let payload), .response(let id, let payload):
            appendBigEndian(id, to: &bytes)
            bytes += payload
        case .gossip(let payload): bytes += payload
        }
        return bytes
    }

    /// The frame with its length prefix.
    public func encoded() -> [UInt8] {
        let body = encodedBody()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.headerBytes + body.count)
        appendBigEndian(UInt32(body.count), to: &bytes)
        return bytes + body
    }

    /// Decodes a frame's body (the bytes after the length prefix).
    ///
    /// - Throws: ``NetworkError/Code/malformedFrame`` for an empty body, an
    ///   unknown kind, a handshake frame of the wrong size, or a request or
    ///   response shorter than its id.
    package init(body: some Collection<UInt8>) throws(NetworkError) {
        let body = Array(body)
        guard let first = body.first else { throw NetworkError(.malformedFrame, "empty frame") }
        guard let kind = Kind(rawValue: first) else {
            throw NetworkError(.malformedFrame, "unknown frame kind \(first)")
        }
        let rest = body[1...]
        switch kind {
        case .hello:
            self = .hello(try Hello(decoding: rest))
        case .proof:
            guard rest.count == Self.signatureBytes else {
                throw NetworkError(
                    .malformedFrame, "proof holds \(rest.count) bytes, a signature is \(Self.signatureBytes)")
            }
            self = .proof(signature: Array(rest))
        case .request, .response:
            guard rest.count >= 8 else {
                throw NetworkError(.malformedFrame, "\(kind) frame of \(rest.count) bytes has no 8-byte request id")
            }
            let id = rest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let payload = Array(rest.dropFirst(8))
            self = kind == .request ? .request(id: id, payload: payload) : .response(id: id, payload: payload)
        case .gossip:
            self = .gossip(payload: Array(rest))
        }
    }
}

/// The first frame of each side: who it is, on which network, and the fresh
/// nonce the other side must sign.
public struct Hello: Hashable, Sendable {
    /// The handshake's version; a peer with another is refused. Version 2
    /// binds the proof to the connection's TLS keys (see ``PeerHandshake``).
    public static let currentVersion: UInt8 = 2
    /// The bytes of a nonce.
    public static let nonceBytes = 32
    /// The encoded size: version, network id, chain id, node id, nonce.
    public static let encodedBytes = 1 + 4 + ChainID.byteCount + NodeID.byteCount + nonceBytes

    /// The handshake's version.
    package var version: UInt8
    /// The sender's network and chain.
    public var domain: SigningDomain
    /// The node the sender claims to be.
    public var nodeID: NodeID
    /// Fresh random bytes the other side signs.
    package var nonce: [UInt8]

    /// A hello of the current version.
    public init(domain: SigningDomain, nodeID: NodeID, nonce: [UInt8], version: UInt8 = Hello.currentVersion) {
        precondition(nonce.count == Self.nonceBytes, "a nonce is \(Self.nonceBytes) bytes")
        self.version = version
        self.domain = domain
        self.nodeID = nodeID
        self.nonce = nonce
    }

    /// A hello with a fresh random nonce.
    package static func fresh(domain: SigningDomain, nodeID: NodeID) -> Hello {
        var generator = SystemRandomNumberGenerator()
        return Hello(domain: domain, nodeID: nodeID, nonce: (0..<nonceBytes).map { _ in generator.next() })
    }

    /// The hello's fields, without the frame's kind byte.
    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = [version]
        appendBigEndian(domain.networkID, to: &bytes)
        bytes += domain.chainID.bytes
        bytes += nodeID.bytes
        bytes += nonce
        return bytes
    }

    /// Decodes exactly ``encodedBytes`` bytes.
    package init(decoding bytes: some Collection<UInt8>) throws(NetworkError) {
        let bytes = Array(bytes)
        guard bytes.count == Self.encodedBytes else {
            throw NetworkError(.malformedFrame, "hello holds \(bytes.count) bytes, expected \(Self.encodedBytes)")
        }
        version = bytes[0]
        let networkID = bytes[1..<5].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        var offset = 5
        // The sizes were checked above, so these cannot fail.
        let chainID = try! ChainID(bytes: bytes[offset..<offset + ChainID.byteCount])
        offset += ChainID.byteCount
        nodeID = try! NodeID(bytes: bytes[offset..<offset + NodeID.byteCount])
        offset += NodeID.byteCount
        nonce = Array(bytes[offset...])
        domain = SigningDomain(networkID: networkID, chainID: chainID)
    }
}

func appendBigEndian<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
    var big = value.bigEndian
    withUnsafeBytes(of: &big) { bytes += $0 }
}
