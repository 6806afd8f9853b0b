/// One key of etcd with its value and revisions.
public struct EtcdKeyValue: Sendable, Hashable {
    /// The key's bytes.
    public var key: [UInt8]
    /// The value's bytes.
    public var value: [UInt8]
    /// The revision that created the key (the order keys were first written in).
    public var createRevision: Int64
    /// The revision of its last change.
    public var modRevision: Int64
    /// The lease it is attached to, 0 for none.
    public var lease: Int64

    /// A key-value from its parts.
    public init(key: [UInt8], value: [UInt8], createRevision: Int64, modRevision: Int64, lease: Int64 = 0) {
        self.key = key
        self.value = value
        self.createRevision = createRevision
        self.modRevision = modRevision
        self.lease = lease
    }

    /// The key as UTF-8 text (invalid bytes replaced).
    public var keyText: String { String(decoding: key, as: UTF8.self) }
}

/// A range read: the keys found and the store's revision the read saw.
public struct EtcdRange: Sendable, Hashable {
    /// The keys found, in key order.
    public var keyValues: [EtcdKeyValue]
    /// The store's revision when read.
    public var revision: Int64
    /// Whether more keys matched than were returned.
    public var more: Bool
    /// How many keys matched.
    public var count: Int64
}

/// A leadership held in an etcd election: the key that stands for it.
public struct EtcdLeaderKey: Sendable, Hashable {
    /// The election's name.
    public var name: [UInt8]
    /// The leader's key.
    public var key: [UInt8]
    /// The key's create revision: a write fenced on leadership compares it.
    public var revision: Int64
    /// The lease the key lives on.
    public var lease: Int64
}

/// One change a watch reports.
public struct EtcdEvent: Sendable, Hashable {
    /// What happened to the key.
    public enum Kind: Sendable, Hashable {
        /// Created or changed.
        case put
        /// Deleted (the key-value holds only the key and the revision).
        case delete
    }

    /// What happened.
    public var kind: Kind
    /// The key-value after the change.
    public var keyValue: EtcdKeyValue
}
