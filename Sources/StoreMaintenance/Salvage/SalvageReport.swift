import ChunkStore
import DSMR

/// What `ChunkStore.salvage(from:into:)` read from a damaged store, kept,
/// dropped and could not read, table by table.
public struct SalvageReport: Sendable, Hashable, Codable {
    /// Keys around rows LMDB would not hand out: every row whose key lies
    /// strictly between `after` and `before` (hex; nil for the table's start
    /// or end) is lost.
    public struct LostRange: Sendable, Hashable, Codable, CustomStringConvertible {
        /// The last key read before the lost rows, or nil from the start.
        public var after: String?
        /// The first key read after the lost rows, or nil to the end.
        public var before: String?
        /// What LMDB or the reader said.
        public var reason: String

        public var description: String {
            "keys after \(after ?? "the start") and before \(before ?? "the end"): \(reason)"
        }
    }

    /// One table's tally.
    public struct Table: Sendable, Hashable, Codable {
        /// Rows LMDB handed out.
        public var rowsRead = 0
        /// Rows copied into the new store.
        public var rowsKept = 0
        /// Rows read but dropped because they do not decode or fail their
        /// table's checks.
        public var rowsDropped = 0
        /// Ranges that could not be read.
        public var lost: [LostRange] = []
        /// The rows LMDB's record of the table says it holds, if that
        /// record could be read.
        public var rowsStored: Int?
        /// When ranges were lost: how many rows they held (`rowsStored`
        /// less `rowsRead`), if the record could be read.
        public var rowsLost: Int?
        /// Whether the table is rebuilt from the primary records instead of
        /// copied (the two chunk indexes).
        public var rebuilt = false
    }

    /// Which meta page salvage read when one of the two was damaged.
    public struct MetaPageFallback: Sendable, Hashable, Codable {
        /// The damaged meta page: 0 or 1.
        public var damagedPage: Int
        /// The sound meta page read instead.
        public var usedPage: Int
        /// The transaction the sound meta page records: the state read.
        public var transactionID: UInt64
        /// What is wrong with the damaged page.
        public var problem: String
    }

    /// Per table, by name.
    public var tables: [String: Table] = [:]
    /// Set when one meta page was damaged: the store was read, from a
    /// private copy of its data file with that page rewritten, at the other
    /// page's transaction. When the damaged page was the newer one, what its
    /// transaction committed is lost, and no count of it survives.
    public var metaPageFallback: MetaPageFallback?
    /// The watermark given to the new store: the source's, or, when that is
    /// unreadable, the highest the surviving rows allow (never below the
    /// last block's timestamp).
    public var watermark: Int64 = 0
    /// The signing floor given to the new store: the source's, raised past
    /// every slot whose `signed` rows were lost, so no chunk is signed for
    /// them again (see `unprotectedFromSlot` for a loss with no last slot).
    public var signingFloor: UInt64 = 0
    /// Set when `signed` lost rows up to its end: slots from this one on
    /// may have been signed without a surviving record, and the floor
    /// cannot close them all. Do not sign with the new store before chain
    /// time passes their expiry, or import the signing history from a
    /// backup first.
    public var unprotectedFromSlot: UInt64?
    /// What rebuilding the derived rows in the new store did.
    public var recovery = RecoveryReport()
    /// `check()` of the new store after salvage.
    public var check = CheckReport()

    /// Whether every row of every table was read and kept, from the newest
    /// meta page (false after a ``metaPageFallback``: the last commit may be
    /// lost).
    public var isComplete: Bool {
        metaPageFallback == nil && tables.values.allSatisfy { $0.lost.isEmpty && $0.rowsDropped == 0 }
    }
}
