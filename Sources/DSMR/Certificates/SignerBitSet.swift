/// Which validators of a set signed: bit `i` is set when the validator at
/// index `i` (in node-id order) signed.
///
/// Bit `i` lives in byte `i / 8` at mask `1 << (i % 8)`. The canonical form has
/// at least one bit set and no trailing zero bytes.
public struct SignerBitSet: Hashable, Sendable {
    /// The bytes of the set, in canonical form.
    public let bytes: [UInt8]

    /// The set of the given validator indices.
    ///
    /// - Precondition: `indices` is not empty and holds no negative index.
    public init(indices: some Sequence<Int>) {
        var bytes: [UInt8] = []
        for index in indices {
            precondition(index >= 0, "negative validator index")
            let byte = index / 8
            if byte >= bytes.count { bytes.append(contentsOf: repeatElement(0, count: byte - bytes.count + 1)) }
            bytes[byte] |= 1 << UInt8(index % 8)
        }
        precondition(!bytes.isEmpty, "a signer bit set needs at least one signer")
        self.bytes = bytes
    }

    /// Accepts only the canonical form.
    ///
    /// - Throws: ``CodecError/Code/nonCanonical`` for an empty set or a trailing zero byte.
    public init(bytes: [UInt8], field: String = "signers") throws(CodecError) {
        guard let last = bytes.last else {
            throw CodecError(code: .nonCanonical, field: field, message: "no signers")
        }
        guard last != 0 else {
            throw CodecError(code: .nonCanonical, field: field, message: "bit set has a trailing zero byte")
        }
        self.bytes = bytes
    }

    init(canonical bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Whether validator `index` signed.
    public func contains(_ index: Int) -> Bool {
        let byte = index / 8
        return index >= 0 && byte < bytes.count && bytes[byte] & (1 << UInt8(index % 8)) != 0
    }

    /// The indices of the signers, ascending.
    public var indices: [Int] {
        var result: [Int] = []
        result.reserveCapacity(count)
        for (byteIndex, byte) in bytes.enumerated() where byte != 0 {
            for bit in 0..<8 where byte & (1 << UInt8(bit)) != 0 {
                result.append(byteIndex * 8 + bit)
            }
        }
        return result
    }

    /// The number of signers.
    public var count: Int {
        bytes.reduce(0) { $0 + $1.nonzeroBitCount }
    }

    /// The highest signer index.
    public var highestIndex: Int {
        let last = bytes[bytes.count - 1]
        return (bytes.count - 1) * 8 + (7 - last.leadingZeroBitCount)
    }
}
