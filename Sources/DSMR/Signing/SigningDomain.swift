/// What a message is: the first part of every signed message, so a signature
/// for one kind of message is never valid for another.
public struct SigningTag: Hashable, Sendable, CustomStringConvertible {
    /// The tag's ASCII bytes.
    public let bytes: [UInt8]

    /// A tag of 1 to 255 ASCII bytes.
    public init(_ text: StaticString) {
        precondition(text.utf8CodeUnitCount > 0 && text.utf8CodeUnitCount <= 255 && text.isASCII)
        bytes = Array(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// A producer's signature over a chunk.
    public static let chunk = SigningTag("dsmr/chunk/v1")
    /// A validator's signature share over a chunk reference and its epoch.
    /// (Version 1 signed the reference alone and is never accepted.)
    public static let signatureShare = SigningTag("dsmr/chunk-share/v2")

    public var description: String { String(decoding: bytes, as: UTF8.self) }
}

/// The network and chain every signature is bound to.
///
/// A signed message is `UInt8(tag.count) || tag || networkID (u32 BE) ||
/// chainID (32 bytes) || body`; the tag's length byte keeps tags prefix-free.
public struct SigningDomain: Hashable, Sendable, CustomStringConvertible {
    /// The network, for example a devnet or the main network.
    public var networkID: UInt32
    /// The chain within the network.
    public var chainID: ChainID

    /// Creates a domain.
    public init(networkID: UInt32, chainID: ChainID) {
        self.networkID = networkID
        self.chainID = chainID
    }

    /// The exact bytes signed for `body` under `tag`.
    public func message(_ tag: SigningTag, _ body: some Collection<UInt8>) -> [UInt8] {
        var writer = CanonicalWriter(capacity: 1 + tag.bytes.count + 4 + ChainID.byteCount + body.count)
        writer.write(UInt8(tag.bytes.count))
        writer.writeRaw(tag.bytes)
        writer.write(networkID)
        writer.write(chainID)
        writer.writeRaw(body)
        return writer.bytes
    }

    /// For example `network 1 chain 00ab…`.
    public var description: String { "network \(networkID) chain \(chainID)" }
}
