/// What one garbage collection removed and how many rows it looked at.
public struct GarbageReport: Sendable, Hashable, Codable {
    /// The watermark collected up to (ms).
    public var watermark: Int64 = 0
    /// Pending chunks removed because they expired unaccepted.
    public var expiredPending = 0
    /// Accepted chunks removed after their retention.
    public var expiredAccepted = 0
    /// Certificates removed.
    public var certificates = 0
    /// `signed` rows removed.
    public var signedRows = 0
    /// `ledger` rows removed.
    public var ledgerRows = 0
    /// `evidence` rows removed.
    public var evidenceRows = 0
    /// Accepted blocks removed after their retention.
    public var blocks = 0
    /// Expired rows removed that did not parse: chunk records whose header is
    /// damaged (deleted by key, their producer/slot rows found through the
    /// chunk's own bytes where those still decode) and `by_expiry` keys of
    /// the wrong shape.
    public var damagedRecords = 0
    /// Index and table rows visited, removed or not: the collection's cost.
    public var rowsVisited = 0

    /// Chunks removed in all.
    public var chunksRemoved: Int { expiredPending + expiredAccepted }

    /// Adds another report's counts (keeping the later watermark).
    mutating func add(_ other: GarbageReport) {
        watermark = max(watermark, other.watermark)
        expiredPending += other.expiredPending
        expiredAccepted += other.expiredAccepted
        certificates += other.certificates
        signedRows += other.signedRows
        ledgerRows += other.ledgerRows
        evidenceRows += other.evidenceRows
        damagedRecords += other.damagedRecords
        blocks += other.blocks
        rowsVisited += other.rowsVisited
    }
}
