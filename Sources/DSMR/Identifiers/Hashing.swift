import Crypto

/// SHA-256 of `bytes`, as inline storage.
func sha256(_ bytes: some Sequence<UInt8>) -> Bytes32 {
    var hasher = SHA256()
    let contiguous: Void? = bytes.withContiguousStorageIfAvailable {
        hasher.update(bufferPointer: UnsafeRawBufferPointer($0))
    }
    if contiguous == nil {
        Array(bytes).withUnsafeBytes { hasher.update(bufferPointer: $0) }
    }
    return hasher.finalize().withUnsafeBytes { Bytes32($0) }
}

extension NodeID {
    /// The node id of an Ed25519 public key: the first 20 bytes of its SHA-256.
    public init(publicKey: some Sequence<UInt8>) {
        self.init(value: sha256(publicKey).withUnsafeBytes { Bytes20(UnsafeRawBufferPointer(rebasing: $0[0..<20])) })
    }
}

extension ChunkID {
    /// The SHA-256 of `bytes`.
    public init(hashing bytes: some Sequence<UInt8>) {
        self.init(value: sha256(bytes))
    }
}

extension BlockID {
    /// The SHA-256 of `bytes`.
    public init(hashing bytes: some Sequence<UInt8>) {
        self.init(value: sha256(bytes))
    }
}

/// A SHA-256 hasher for values made of many pieces: short pieces are gathered
/// into one buffer and hashed together, so a chunk of many small transactions
/// costs few hasher calls, while long pieces are hashed in place, uncopied.
struct GatheringSHA256 {
    /// Pieces this long or longer are hashed in place.
    private static let directBytes = 256
    /// Gathered bytes are hashed once there are this many.
    private static let bufferBytes = 4096

    private var hasher = SHA256()
    private var pending: [UInt8] = []

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        if bytes.count >= Self.directBytes {
            flush()
            hasher.update(bufferPointer: bytes)
            return
        }
        if pending.capacity == 0 { pending.reserveCapacity(Self.bufferBytes + Self.directBytes) }
        pending.append(contentsOf: bytes)
        if pending.count >= Self.bufferBytes { flush() }
    }

    /// The hasher with every byte given so far.
    mutating func finish() -> SHA256 {
        flush()
        return hasher
    }

    private mutating func flush() {
        guard !pending.isEmpty else { return }
        pending.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        pending.removeAll(keepingCapacity: true)
    }
}
