/// A range of keys in byte order: from `lower` (inclusive) up to `upper`
/// (exclusive); a nil bound is open.
package struct KeyRange: Sendable, Hashable {
    /// The smallest key in the range, or nil for the start of the database.
    package var lower: [UInt8]?
    /// The first key past the range, or nil for the end of the database.
    package var upper: [UInt8]?

    /// The range `[lower, upper)`.
    package init(lower: [UInt8]? = nil, upper: [UInt8]? = nil) {
        self.lower = lower
        self.upper = upper
    }

    /// Every key.
    package static let all = KeyRange()

    /// Every key at or after `key`.
    package static func from(_ key: [UInt8]) -> KeyRange { KeyRange(lower: key) }

    /// Every key at or before `key`; with `reverse`, a scan down from `key`.
    package static func through(_ key: [UInt8]) -> KeyRange { KeyRange(upper: key + [0]) }

    /// Every key that starts with `prefix`.
    package static func prefix(_ prefix: [UInt8]) -> KeyRange {
        KeyRange(lower: prefix, upper: successor(ofPrefix: prefix))
    }

    /// Whether `key` lies in the range.
    package func contains(_ key: some RawBytes) -> Bool {
        key.withUnsafeBytes { bytes in
            if let lower, bytes.lexicographicallyPrecedes(lower) { return false }
            if let upper, !bytes.lexicographicallyPrecedes(upper) { return false }
            return true
        }
    }

    /// The smallest key greater than every key starting with `prefix`, or nil
    /// when there is none (the prefix is empty or all 0xFF).
    static func successor(ofPrefix prefix: [UInt8]) -> [UInt8]? {
        var bytes = prefix
        while let last = bytes.last {
            if last < 0xFF {
                bytes[bytes.count - 1] = last + 1
                return bytes
            }
            bytes.removeLast()
        }
        return nil
    }
}
