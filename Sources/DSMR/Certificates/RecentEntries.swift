/// A bounded map that forgets its oldest entry once full: the store behind
/// ``CertificateVerificationCache``.
struct RecentEntries<Value> {
    /// The most entries kept.
    let capacity: Int
    private var entries: [[UInt8]: Value] = [:]
    private var order: [[UInt8]] = []
    private var next = 0

    init(capacity: Int) {
        precondition(capacity > 0, "capacity must be positive")
        self.capacity = capacity
    }

    subscript(key: [UInt8]) -> Value? { entries[key] }

    /// Adds `value` under `key` unless the key is present, evicting the oldest entry when full.
    mutating func insert(_ value: Value, for key: [UInt8]) {
        guard entries[key] == nil else { return }
        entries[key] = value
        if order.count < capacity {
            order.append(key)
        } else {
            entries[order[next]] = nil
            order[next] = key
            next = (next + 1) % capacity
        }
    }
}
