/// Accepted connections still in their handshake, counted by the address
/// they come from.
///
/// Each source address may hold ``TCPTransportConfiguration/maxPendingHandshakesPerAddress``
/// of them; an address where validators are configured (see
/// ``TCPTransport/setAddress(host:port:of:)``) holds that many per
/// validator there, in slots of its own that no other address can take.
/// The other addresses share ``TCPTransportConfiguration/maxPendingHandshakes``
/// slots. When a new connection finds its address's share, or the shared
/// slots, full, the oldest connection waiting from that address (or, for
/// the shared slots, from any address without validators) is closed and the
/// new one admitted: whoever floods the slots only ever pushes out its own
/// connections or other outsiders', never a validator's.
///
/// At most `maxPendingHandshakes + maxPendingHandshakesPerAddress × validators`
/// connections wait at once; the per-address counts have an entry only for
/// an address with a waiting connection, so they are bounded by the same.
struct HandshakeSlots<Key: Hashable, Value> {
    /// One waiting connection.
    struct Entry {
        let value: Value
        let source: String
        let reserved: Bool
        /// The order of admission: lower is older.
        let sequence: UInt64
    }

    /// What happened to a new connection.
    enum Admission {
        /// Admitted; `evicted` is an older waiting connection to close.
        case admitted(evicted: Value?)
        /// Refused: no slot and nothing older to push out.
        case refused
    }

    let perAddress: Int
    let shared: Int
    private(set) var entries: [Key: Entry] = [:]
    /// Waiting connections per source address; an entry exists only while
    /// its address has one waiting.
    private var perSource: [String: Int] = [:]
    private var sharedCount = 0
    private var nextSequence: UInt64 = 0

    init(perAddress: Int, shared: Int) {
        self.perAddress = perAddress
        self.shared = shared
    }

    /// Connections waiting.
    var count: Int { entries.count }

    /// Connections waiting from `source`.
    func waiting(from source: String) -> Int { perSource[source, default: 0] }

    /// Admits a new connection from `source`, where `validators` validators
    /// are configured, evicting an older one when its slots are full.
    mutating func admit(_ key: Key, _ value: Value, from source: String, validators: Int) -> Admission {
        let reserved = validators > 0
        let (limit, overflow) = perAddress.multipliedReportingOverflow(by: max(validators, 1))
        var evicted: Value?
        if perSource[source, default: 0] >= (overflow ? .max : limit) {
            guard let oldest = oldest(where: { $0.source == source }) else { return .refused }
            evicted = remove(oldest)
        } else if !reserved && sharedCount >= shared {
            guard let oldest = oldest(where: { !$0.reserved }) else { return .refused }
            evicted = remove(oldest)
        }
        entries[key] = Entry(value: value, source: source, reserved: reserved, sequence: nextSequence)
        nextSequence += 1
        perSource[source, default: 0] += 1
        if !reserved { sharedCount += 1 }
        return .admitted(evicted: evicted)
    }

    /// Forgets a connection that left its handshake, done, failed or closed.
    @discardableResult
    mutating func remove(_ key: Key) -> Value? {
        guard let entry = entries.removeValue(forKey: key) else { return nil }
        perSource[entry.source, default: 1] -= 1
        if perSource[entry.source] == 0 { perSource[entry.source] = nil }
        if !entry.reserved { sharedCount -= 1 }
        return entry.value
    }

    private func oldest(where matches: (Entry) -> Bool) -> Key? {
        entries.filter { matches($0.value) }.min { $0.value.sequence < $1.value.sequence }?.key
    }
}
