import DSMR

/// A transaction made for load, with what the load generator tracks.
public struct LoadTransaction: Hashable, Sendable {
    /// The SHA-256 of ``bytes``: how its execution is recognised.
    public var digest: [UInt8]
    /// Its canonical bytes, as submitted.
    public var bytes: [UInt8]
    /// The account that pays, which routes it to a validator.
    public var sponsor: [UInt8]
    /// When it stops being valid (ms since 1970).
    public var expiry: Int64
    /// The source's sequence it belongs to (an account), `0..<laneCount`.
    public var lane: Int
    /// Its place in the lane (a nonce).
    public var position: UInt64

    /// A load transaction from its parts.
    public init(digest: [UInt8], bytes: [UInt8], sponsor: [UInt8], expiry: Int64, lane: Int, position: UInt64) {
        self.digest = digest
        self.bytes = bytes
        self.sponsor = sponsor
        self.expiry = expiry
        self.lane = lane
        self.position = position
    }
}

/// Reads the executed state: sends a state-machine query to a validator and
/// returns its answer (see ``StateMachine/query(_:)``).
public typealias StateQuery = @Sendable ([UInt8]) async throws -> [UInt8]

/// Makes the transactions of a load (the devnet's, the bench's), and keeps
/// its own bookkeeping right as they execute or are lost.
///
/// A source is made of lanes (DemoVM: one per funded account), each a
/// sequence of transactions the load generator sends in order. Lanes are
/// taken round-robin.
public protocol TransactionSource: Sendable {
    /// How many lanes.
    var laneCount: Int { get }

    /// The sponsor of lane `lane`'s transactions (routes them to a validator).
    func sponsor(ofLane lane: Int) -> [UInt8]

    /// The next transaction of `lane`, valid for the source's lifetime from
    /// `now` (ms since 1970); nil when the lane cannot make one.
    func next(lane: Int, now: Int64) -> LoadTransaction?

    /// Makes, ahead of time, the next `count` transactions over every lane
    /// (as round-robin from `firstLane` would take them), valid until `expiry`.
    /// A later ``next(lane:now:)`` returns them. Does nothing by default.
    func prepare(count: Int, firstLane: Int, expiry: Int64)

    /// Brings the source's bookkeeping up to the executed state before a
    /// load starts (DemoVM: each account's executed nonce); only ever
    /// forward, so transactions still pending keep their places. A devnet
    /// calls it at every run.
    func synchronize(query: StateQuery) async throws

    /// Given every pending transaction of some lanes, one of which has
    /// waited long: which of them can never execute. The source restarts
    /// those lanes past them. By default, those that expired before `chainTime`.
    func lost(among pending: [LoadTransaction], chainTime: Int64, query: StateQuery) async -> Set<[UInt8]>

    /// `abandoned` will never execute (their validator stopped with them,
    /// nothing carried them): the source reuses their places.
    func abandon(_ abandoned: [LoadTransaction])
}

extension TransactionSource {
    /// Nothing made ahead.
    public func prepare(count: Int, firstLane: Int, expiry: Int64) {}

    /// Nothing to synchronize.
    public func synchronize(query: StateQuery) async throws {}

    /// Those that expired before `chainTime`.
    public func lost(among pending: [LoadTransaction], chainTime: Int64, query: StateQuery) async -> Set<[UInt8]> {
        Set(pending.filter { $0.expiry < chainTime }.map(\.digest))
    }

    /// Nothing to reuse.
    public func abandon(_ abandoned: [LoadTransaction]) {}
}
