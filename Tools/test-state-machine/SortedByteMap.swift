/// A map from byte strings to values, kept in bytewise order of its keys
/// (unsigned bytes compared in turn, a prefix before what extends it).
///
/// Two sorted arrays searched by bisection: lookups are logarithmic,
/// inserting a new key is linear. Enough for a test machine's state, and
/// iteration in key order, which the root and the state file need, is free.
struct SortedByteMap<Value: Hashable & Sendable>: Hashable, Sendable {
    /// The keys, strictly increasing.
    private(set) var keys: [[UInt8]] = []
    /// The values, the one at `i` being `keys[i]`'s.
    private(set) var values: [Value] = []

    /// An empty map.
    init() {}

    /// How many keys.
    var count: Int { keys.count }

    /// The value of `key`; setting nil removes it.
    subscript(key: [UInt8]) -> Value? {
        get {
            let index = position(of: key)
            return index < keys.count && keys[index] == key ? values[index] : nil
        }
        set {
            let index = position(of: key)
            let present = index < keys.count && keys[index] == key
            switch (present, newValue) {
            case (true, let value?): values[index] = value
            case (true, nil):
                keys.remove(at: index)
                values.remove(at: index)
            case (false, let value?):
                keys.insert(key, at: index)
                values.insert(value, at: index)
            case (false, nil): break
            }
        }
    }

    /// The pairs in key order.
    var pairs: Zip2Sequence<[[UInt8]], [Value]> { zip(keys, values) }

    /// Appends `key`, which must follow every key held (for loading what is
    /// known to be in order); returns false, changing nothing, when it does not.
    mutating func append(_ key: [UInt8], _ value: Value) -> Bool {
        if let last = keys.last, !last.lexicographicallyPrecedes(key) { return false }
        keys.append(key)
        values.append(value)
        return true
    }

    /// The index of the first key not before `key`.
    private func position(of key: [UInt8]) -> Int {
        var low = 0
        var high = keys.count
        while low < high {
            let middle = (low + high) / 2
            if keys[middle].lexicographicallyPrecedes(key) { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
