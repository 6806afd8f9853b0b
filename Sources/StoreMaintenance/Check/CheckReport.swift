import ChunkStore
import DSMR

/// One inconsistency `check()` found.
public struct StoreProblem: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The kind of damage.
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// A chunk's bytes do not hash to its id.
        case chunkHashMismatch
        /// A chunk record's header or bytes do not decode, or disagree.
        case chunkRecordCorrupt
        /// A chunk record lacks one of its index rows.
        case missingIndexRow
        /// An index row names a chunk that is not held, or disagrees with it.
        case danglingIndexRow
        /// A ledger row differs from what the stored chunks imply.
        case ledgerMismatch
        /// A `signed` row points at a chunk that should be held but is not,
        /// or a signed chunk has no `signed` row.
        case signedRowMismatch
        /// A certificate does not decode, names another chunk than its key,
        /// or another producer or slot than the held chunk.
        case certificateCorrupt
        /// Conflict evidence does not decode or does not prove a conflict:
        /// chunks of another producer or slot, the same chunk twice, a
        /// signed chunk that is not the one named, or signatures that do not
        /// verify under the recorded key.
        case evidenceCorrupt
        /// A block does not decode, sits at the wrong height, or does not
        /// link to the block below it (a gap or another parent).
        case blockCorrupt
        /// `meta` is missing a row, holds a value out of range or an unknown
        /// row, or its tips or watermark disagree with `blocks`.
        case metaInvalid
        /// A pending chunk or pending certificate that collection at the
        /// watermark removes is still held: the watermark was damaged, or
        /// moved without collecting. `dsmr-store gc` removes it once the
        /// watermark is known to be right.
        case expiredRowKept
        /// A key of the wrong size or shape.
        case malformedKey
        /// LMDB's page structure is damaged (table `pages`, key the page
        /// number): a page reached twice, both in use and listed free, past
        /// the last page, or with a wrong header. Rows may read back intact
        /// while the next write reuses a live page.
        case pageStructure
        /// Pages of `data.mdb` neither reachable from any tree nor listed
        /// free (table `pages`, key the first page of a run): their space is
        /// lost, while every row reads intact. `recover` cannot reclaim them
        /// and LMDB's compacting copy refuses such a file, so `compact`
        /// fails; `recover -o` copies the rows into a new store without them.
        case pageLeaked
    }

    /// The kind of damage.
    public let kind: Kind
    /// The database it is in.
    public let table: String
    /// The key concerned, in hex.
    public let key: String
    /// What exactly is wrong.
    public let detail: String

    public var description: String {
        let repair =
            kind == .pageLeaked
            ? "recover cannot repair this and compact refuses the store; recover -o copies the rows into a new store"
            : isRepairable ? "recover repairs this" : "recover cannot repair this"
        return "\(kind.rawValue) in \(table) at \(key): \(detail) (\(repair))"
    }

    /// Whether `recover()` rebuilds what this problem concerns.
    public var isRepairable: Bool {
        switch kind {
        case .missingIndexRow, .danglingIndexRow, .ledgerMismatch, .signedRowMismatch, .certificateCorrupt,
            .chunkHashMismatch, .chunkRecordCorrupt, .malformedKey:
            return true
        case .evidenceCorrupt, .blockCorrupt, .metaInvalid, .expiredRowKept, .pageStructure, .pageLeaked:
            return false
        }
    }

    /// Creates a problem.
    public init(kind: Kind, table: String, key: String, detail: String) {
        self.kind = kind
        self.table = table
        self.key = key
        self.detail = detail
    }

    private enum CodingKeys: String, CodingKey { case kind, table, key, detail, repairable }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        kind = try container.decode(Kind.self, forKey: .kind)
        table = try container.decode(String.self, forKey: .table)
        key = try container.decode(String.self, forKey: .key)
        detail = try container.decode(String.self, forKey: .detail)
    }

    /// Encodes the problem with `repairable`: whether `recover()` repairs it.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        try container.encode(table, forKey: .table)
        try container.encode(key, forKey: .key)
        try container.encode(detail, forKey: .detail)
        try container.encode(isRepairable, forKey: .repairable)
    }
}

/// What `check()` found: every problem, and how many rows of each database it
/// read.
public struct CheckReport: Sendable, Hashable, Codable {
    /// Problems found, at most `problemLimit` of them.
    public var problems: [StoreProblem] = []
    /// Problems found in all, including those past the limit.
    public var problemCount = 0
    /// Rows read per database.
    public var rowsChecked: [String: Int] = [:]
    /// Rows of `certificates` and `blocks` in the form written before rows
    /// carried checksums, per database (absent: none). They read, but damage
    /// to them goes unseen; `compact` and `recover -o` rewrite them with
    /// their checksums. Not a problem: ``isClean`` ignores them.
    public var rowsWithoutChecksum: [String: Int] = [:]

    /// The most problems kept in `problems`.
    public static let problemLimit = 10_000

    /// Whether nothing is wrong.
    public var isClean: Bool { problemCount == 0 }

    mutating func add(_ kind: StoreProblem.Kind, _ table: String, _ key: some Sequence<UInt8>, _ detail: String) {
        problemCount += 1
        if problems.count < Self.problemLimit {
            problems.append(StoreProblem(kind: kind, table: table, key: Hex.encode(key), detail: detail))
        }
    }

    mutating func count(_ table: String) { rowsChecked[table, default: 0] += 1 }

    mutating func countWithoutChecksum(_ table: String) { rowsWithoutChecksum[table, default: 0] += 1 }
}
