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
