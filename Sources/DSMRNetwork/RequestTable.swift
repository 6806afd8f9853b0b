import DSMR
import DSMRNode
import NIOCore

/// This node's requests on one dialed connection: those waiting for their
/// answer, and the ids of those that timed out recently.
///
/// Ids are random `UInt64`s from `SystemRandomNumberGenerator`, unique among
/// the connection's waiting and recently timed-out requests, so a peer
/// cannot guess the ids of requests sent to another peer, and an answer
/// only ever completes a request sent on the connection it came on.
struct RequestTable {
    /// How many timed-out ids each connection remembers; an answer to an id
    /// older than that is treated as unsolicited.
    static let recentlyTimedOutBound = 1_024

    /// Requests waiting for their answer, by id. Bounded by this node's own
    /// requests in flight: the ids are this node's, never the peer's.
    private(set) var waiting: [UInt64: PendingRequest] = [:]
    /// Ids whose request timed out or failed, the last
    /// ``recentlyTimedOutBound`` of them.
    private var timedOut = RecentIDs(capacity: recentlyTimedOutBound)

    /// What an answer to `id` is on this connection.
    enum Answer {
        /// It completes this waiting request.
        case completes(PendingRequest)
        /// Its request timed out recently: dropped quietly.
        case late
        /// No request with that id was sent on this connection.
        case unsolicited
    }

    /// Records a new request and returns its fresh, unpredictable id.
    mutating func add(_ request: PendingRequest) -> UInt64 {
        var generator = SystemRandomNumberGenerator()
        var id = generator.next() as UInt64
        while waiting[id] != nil || timedOut.contains(id) { id = generator.next() }
        waiting[id] = request
        return id
    }

    /// Sets the timeout of the request `id`, if it still waits.
    mutating func setTimer(_ timer: Scheduled<Void>, of id: UInt64) {
        waiting[id]?.timer = timer
    }

    /// Takes the request an answer to `id` completes, if any.
    mutating func answer(_ id: UInt64) -> Answer {
        if let request = waiting.removeValue(forKey: id) { return .completes(request) }
        return timedOut.contains(id) ? .late : .unsolicited
    }

    /// Takes the request `id` that timed out or failed, remembering its id
    /// so a late answer is dropped quietly.
    mutating func expire(_ id: UInt64) -> PendingRequest? {
        guard let request = waiting.removeValue(forKey: id) else { return nil }
        timedOut.insert(id)
        return request
    }

    /// Takes every waiting request (the connection closed).
    mutating func removeAll() -> [PendingRequest] {
        defer { waiting = [:] }
        return Array(waiting.values)
    }
}

/// The last `capacity` ids inserted; older ones are forgotten first.
struct RecentIDs {
    let capacity: Int
    private var members: Set<UInt64> = []
    private var order: [UInt64] = []
    private var next = 0

    init(capacity: Int) {
        precondition(capacity > 0, "a set of recent ids holds at least one")
        self.capacity = capacity
    }

    var count: Int { members.count }

    func contains(_ id: UInt64) -> Bool { members.contains(id) }

    mutating func insert(_ id: UInt64) {
        guard members.insert(id).inserted else { return }
        if order.count < capacity {
            order.append(id)
        } else {
            members.remove(order[next])
            order[next] = id
            next = (next + 1) % capacity
        }
    }
}

/// One of this node's requests waiting for its answer.
struct PendingRequest {
    let peer: NodeID
    let continuation: CheckedContinuation<Result<[UInt8], TransportError>, Never>
    /// The request's timeout, cancelled when the answer comes first.
    var timer: Scheduled<Void>?
}
