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
        /// A certificate does not decode or names another chunk.
        case certificateCorrupt
        /// Conflict evidence does not decode.
        case evidenceCorrupt
        /// A block does not decode or sits at the wrong height.
        case blockCorrupt
        /// `meta` is missing a row or holds a value out of range.
        case metaInvalid
        /// A key of the wrong size or shape.
        case malformedKey
    }

    /// The kind of damage.
    public let kind: Kind
    /// The database it is in.
    public let table: String
    /// The key concerned, in hex.
    public let key: String
    /// What exactly is wrong.
    public let detail: String

    public var description: String { "\(kind.rawValue) in \(table) at \(key): \(detail)" }

    /// Whether `recover()` rebuilds what this problem concerns.
    public var isRepairable: Bool {
        switch kind {
        case .missingIndexRow, .danglingIndexRow, .ledgerMismatch, .signedRowMismatch, .certificateCorrupt,
            .chunkHashMismatch, .chunkRecordCorrupt, .malformedKey:
            return true
        case .evidenceCorrupt, .blockCorrupt, .metaInvalid:
            return false
        }
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
}
