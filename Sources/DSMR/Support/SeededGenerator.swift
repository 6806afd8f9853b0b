/// SplitMix64: a small, fast generator whose whole output follows from its
/// seed, so that seeded tests, fault plans and benchmark data replay exactly.
///
/// Not for keys, nonces or anything else that must be unpredictable.
package struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator whose output is determined by `seed`.
    package init(seed: UInt64) { state = seed }

    /// The next 64 bits of the sequence.
    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `count` bytes, one per draw: the low byte of each ``next()``, the
    /// bytes `UInt8.random(in: 0...255, using:)` would draw.
    package mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) }
    }

    /// `count` bytes, eight per draw (each ``next()`` in little-endian
    /// order): a faster stream than ``bytes(_:)``, and a different one, for
    /// bulk data.
    package mutating func packedBytes(_ count: Int) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: count)
        result.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < count {
                var word = next().littleEndian
                let take = min(8, count - offset)
                withUnsafeBytes(of: &word) {
                    buffer.baseAddress!.advanced(by: offset).copyMemory(from: $0.baseAddress!, byteCount: take)
                }
                offset += take
            }
        }
        return result
    }
}
