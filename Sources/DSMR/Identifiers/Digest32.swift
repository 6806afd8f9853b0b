/// What a 32-byte identifier names. The kind only sets the identifier's type
/// and its name in error messages.
public protocol Digest32Kind: Sendable {
    /// The name used in error messages, such as `ChunkID`.
    static var name: String { get }
}

/// A 32-byte identifier, stored inline: a chunk's or a block's SHA-256, or a
/// chain's id. `ChunkID`, `BlockID` and `ChainID` are its kinds.
public struct Digest32<Kind: Digest32Kind>: Identifier {
    @usableFromInline var value: Bytes32

    /// The number of bytes in every identifier of this type.
    public static var byteCount: Int { 32 }
    /// The name used in error messages.
    public static var kind: String { Kind.name }
    /// All zero bytes.
    public static var zero: Self { Self(value: .zero) }

    @usableFromInline init(value: Bytes32) {
        self.value = value
    }

    init(_ raw: UnsafeRawBufferPointer) {
        value = Bytes32(raw)
    }

    /// Creates an identifier from exactly ``byteCount`` bytes.
    public init(bytes: some Collection<UInt8>) throws(IdentifierError) {
        value = try withExactBytes(bytes, count: Self.byteCount, kind: Self.kind) { Bytes32($0) }
    }

    /// Calls `body` with the identifier's bytes.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try value.withUnsafeBytes(body)
    }

    /// Bytewise order.
    public static func < (a: Self, b: Self) -> Bool { a.value < b.value }
}

/// The kind of a chunk's identity.
public enum ChunkKind: Digest32Kind {
    public static let name = "ChunkID"
}

/// The kind of a block's identity.
public enum BlockKind: Digest32Kind {
    public static let name = "BlockID"
}

/// The kind of a state root: what an executed block's transactions left
/// the state machine's state hashing to.
public enum StateRootKind: Digest32Kind {
    public static let name = "StateRoot"
}

/// The kind of a chain's identity.
public enum ChainKind: Digest32Kind {
    public static let name = "ChainID"
}

/// A chunk's identity: the SHA-256 of the chunk's canonical signed encoding.
public typealias ChunkID = Digest32<ChunkKind>

/// A block's identity: the SHA-256 of the block's canonical encoding.
public typealias BlockID = Digest32<BlockKind>

/// The chain a message belongs to; part of every signing domain.
public typealias ChainID = Digest32<ChainKind>

/// The state machine's state root after a block, recorded with the block.
public typealias StateRoot = Digest32<StateRootKind>
