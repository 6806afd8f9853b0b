import DSMR

/// Each validator's misbehaviour budget, ban and counters.
///
/// An offence (an undecodable, out-of-turn or oversized frame, or an
/// unsolicited answer, on an authenticated connection) closes that
/// connection and costs the peer one unit of its budget of
/// ``TCPTransportConfiguration/offenceBudget``; the budget grows back one
/// unit per ``TCPTransportConfiguration/offenceRefill``. An offence that
/// finds the budget empty bans the peer: its connections
/// are closed, and its handshakes refused and its address not dialed until
/// the ban ends. The first ban lasts ``TCPTransportConfiguration/initialBan``,
/// each next one twice the last, up to ``TCPTransportConfiguration/maxBan``;
/// after `maxBan` without an offence the peer starts over from the first.
///
/// Records exist only for peers that completed a handshake, and only a
/// validator of the current set can: the table is bounded by the
/// validators seen, and in any case by ``maxRecords`` (past it, the record
/// seen longest ago among those not banned is forgotten).
struct PeerScores {
    /// The most peers with a record at once.
    static let maxRecords = 1_024

    struct Record {
        var statistics = PeerStatistics()
        var budget: Int
        var refilled: ContinuousClock.Instant
        var lastOffence: ContinuousClock.Instant?
        var bannedUntil: ContinuousClock.Instant?
        var lastSeen: ContinuousClock.Instant
    }

    struct Rules {
        var budget: Int
        var refill: Duration
        var initialBan: Duration
        var maxBan: Duration
    }

    let rules: Rules
    private(set) var records: [NodeID: Record] = [:]

    init(rules: Rules) {
        self.rules = rules
    }

    /// The end of `peer`'s ban, if it is banned at `now`.
    func banEnd(of peer: NodeID, at now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        guard let until = records[peer]?.bannedUntil, until > now else { return nil }
        return until
    }

    /// Changes `peer`'s counters, creating its record if needed.
    mutating func update(_ peer: NodeID, at now: ContinuousClock.Instant, _ change: (inout PeerStatistics) -> Void) {
        var record = take(peer, at: now)
        change(&record.statistics)
        records[peer] = record
    }

    /// Charges `peer` one offence; returns the end of the ban it earned, if any.
    mutating func offence(by peer: NodeID, at now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        var record = take(peer, at: now)
        defer { records[peer] = record }
        if let last = record.lastOffence, now - last >= rules.maxBan { record.statistics.bans = 0 }
        record.lastOffence = now
        record.budget -= 1
        guard record.budget < 0 else { return nil }
        record.statistics.bans += 1
        let doublings = min(record.statistics.bans - 1, 30)
        let length = min(rules.initialBan * (1 << doublings), rules.maxBan)
        record.bannedUntil = now + length
        record.budget = rules.budget
        record.refilled = now
        return now + length
    }

    /// Every record's counters, with what is left of each ban at `now`.
    func statistics(at now: ContinuousClock.Instant) -> [NodeID: PeerStatistics] {
        records.mapValues { record in
            var statistics = record.statistics
            if let until = record.bannedUntil, until > now { statistics.banRemaining = until - now }
            return statistics
        }
    }

    /// `peer`'s record with its budget grown back to `now`, made room for when new.
    private mutating func take(_ peer: NodeID, at now: ContinuousClock.Instant) -> Record {
        guard var record = records.removeValue(forKey: peer) else {
            makeRoom(at: now)
            return Record(budget: rules.budget, refilled: now, lastSeen: now)
        }
        if rules.refill > .zero, record.budget < rules.budget {
            let units = Int(min((now - record.refilled) / rules.refill, Double(rules.budget)))
            if units > 0 {
                record.budget = min(record.budget + units, rules.budget)
                record.refilled = now
            }
        } else {
            record.refilled = now
        }
        record.lastSeen = now
        return record
    }

    private mutating func makeRoom(at now: ContinuousClock.Instant) {
        guard records.count >= Self.maxRecords else { return }
        let candidates = records.filter { ($0.value.bannedUntil ?? now) <= now }
        let pool = candidates.isEmpty ? records : candidates
        if let oldest = pool.min(by: { $0.value.lastSeen < $1.value.lastSeen })?.key { records[oldest] = nil }
    }
}
