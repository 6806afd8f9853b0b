import Crypto
import DSMR

/// A Merkle tree whose leaves are a snapshot's pieces, in order, so that a
/// state root built with it lets every piece be checked on arrival.
///
/// A state machine that cuts its state into pieces the same way at every
/// height (DemoVM: runs of 1,024 accounts in key order) and takes its state
/// root from ``root(leaves:)`` can serve each piece with ``proof(index:leaves:)``;
/// a receiver checks a piece with ``verify(payload:index:count:proof:root:)``
/// before it keeps it, so a peer that sends a wrong piece is caught at that
/// piece and not after the whole download.
///
/// The hashes are SHA-256 with a tag byte per kind, so a leaf can never pass
/// for an inner node:
/// - leaf: `SHA-256(0x00 || payload)`;
/// - inner node: `SHA-256(0x01 || left || right)`; a level's odd last node is
///   carried up unchanged (never paired with itself, which would let two
///   different piece lists share a root);
/// - root: `SHA-256(0x02 || count (u32, big-endian) || top)`, so the root
///   also fixes how many pieces there are.
///
/// A proof is the siblings from the leaf up, 32 bytes each, skipping the
/// levels where the node is carried up: at most 32 hashes.
public enum SnapshotTree {
    /// Bytes of one hash.
    public static let hashBytes = 32
    /// The longest proof any piece count below 2³² needs.
    public static let maxProofBytes = 32 * hashBytes

    /// The leaf hash of a piece's payload.
    public static func leaf(_ payload: some Sequence<UInt8>) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: [0x00])
        hasher.update(data: Array(payload))
        return Array(hasher.finalize())
    }

    /// The leaf hash of a payload being streamed: start with ``leafHasher()``,
    /// feed the payload, then ``finishLeaf(_:)``.
    public static func leafHasher() -> SHA256 {
        var hasher = SHA256()
        hasher.update(data: [0x00])
        return hasher
    }

    /// The leaf hash from a hasher started by ``leafHasher()``.
    public static func finishLeaf(_ hasher: SHA256) -> [UInt8] { Array(hasher.finalize()) }

    /// The root over `leaves` (at least one).
    public static func root(leaves: [[UInt8]]) -> StateRoot {
        precondition(!leaves.isEmpty && leaves.count <= Int(UInt32.max), "a snapshot has 1 to 2^32-1 pieces")
        var level = leaves
        while level.count > 1 { level = parents(of: level) }
        return top(level[0], count: UInt32(leaves.count))
    }

    /// The proof for leaf `index` of `leaves`.
    public static func proof(index: Int, leaves: [[UInt8]]) -> [UInt8] {
        precondition(leaves.indices.contains(index), "leaf \(index) of \(leaves.count)")
        var proof: [UInt8] = []
        var level = leaves
        var position = index
        while level.count > 1 {
            let sibling = position ^ 1
            if sibling < level.count { proof.append(contentsOf: level[sibling]) }
            level = parents(of: level)
            position /= 2
        }
        return proof
    }

    /// Whether `payload` is piece `index` of a snapshot of `count` pieces
    /// whose root is `root`, by `proof`. A proof of the wrong length, for an
    /// index out of range, or for any other payload fails.
    public static func verify(payload: [UInt8], index: UInt32, count: UInt32, proof: [UInt8], root: StateRoot) -> Bool {
        guard count >= 1, index < count, proof.count % hashBytes == 0, proof.count <= maxProofBytes else {
            return false
        }
        var hash = leaf(payload)
        var position = UInt64(index)
        var width = UInt64(count)
        var used = 0
        while width > 1 {
            let sibling = position ^ 1
            if sibling < width {
                guard used + hashBytes <= proof.count else { return false }
                let other = Array(proof[used..<(used + hashBytes)])
                used += hashBytes
                hash = position & 1 == 0 ? node(hash, other) : node(other, hash)
            }
            position /= 2
            width = (width + 1) / 2
        }
        return used == proof.count && top(hash, count: count) == root
    }

    /// The level above `level`: each pair joined, an odd last node carried up.
    static func parents(of level: [[UInt8]]) -> [[UInt8]] {
        var next: [[UInt8]] = []
        next.reserveCapacity((level.count + 1) / 2)
        var index = 0
        while index + 1 < level.count {
            next.append(node(level[index], level[index + 1]))
            index += 2
        }
        if index < level.count { next.append(level[index]) }
        return next
    }

    static func node(_ left: [UInt8], _ right: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: [0x01])
        hasher.update(data: left)
        hasher.update(data: right)
        return Array(hasher.finalize())
    }

    static func top(_ hash: [UInt8], count: UInt32) -> StateRoot {
        var hasher = SHA256()
        hasher.update(data: [0x02])
        hasher.update(data: withUnsafeBytes(of: count.bigEndian) { Array($0) })
        hasher.update(data: hash)
        // A SHA-256 digest is always a state root's length.
        return try! StateRoot(bytes: Array(hasher.finalize()))
    }
}
