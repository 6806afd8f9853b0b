import ChunkStore
import DSMR
import Foundation
import LMDB
import LMDBForensics

/// Reads what LMDB still hands out of one table of a damaged store: from
/// the front in key order until reading fails (an LMDB error, keys that stop
/// ascending, or, in a child process, the child dying by a signal), then
/// from the back in reverse order down to where the front stopped, then from
/// probe keys inside what is still unread, so that rows between two damaged
/// places, or between a damaged place and a damaged end of the table, are
/// read too. Probe keys are the keys at which leaf pages begin, read from
/// the table's branch pages (`PageWalk.leafBoundaries`), then keys halfway
/// through what is left. What stays unread is reported as ranges of keys.
struct DamagedTableReader {
    let path: String
    let table: String
    let isolation: SalvageIsolation
    /// The source, opened in this process (needed only for `.inProcess`).
    let environment: Environment?

    /// One row, copied out of the map.
    struct CopiedRow {
        let key: [UInt8]
        let value: [UInt8]
    }

    /// Keys around the rows that could not be read: every row with a key
    /// strictly between `after` and `before` is lost (nil: the table's
    /// start or end).
    struct Gap {
        let after: [UInt8]?
        let before: [UInt8]?
        let reason: String
    }

    /// Most probes at keys halfway through one table's unreadable ranges
    /// (each is two passes).
    static let maxProbes = 8
    /// Most probes at leaf boundaries in one table (each is two passes).
    static let maxBoundaryProbes = 256

    /// Hands every readable row to `body`, in batches; returns the ranges
    /// that could not be read, in key order (empty when the whole table was
    /// read). After the passes from both ends, each unreadable range is
    /// probed from a key inside it, reading down and up from there: the
    /// middle one of the leaf boundaries inside it, or, when none is left,
    /// the key halfway through it.
    func read(_ body: ([CopiedRow]) async throws -> Void) async throws -> [Gap] {
        var last: [UInt8]?
        let failure = try await pass(after: nil, before: nil, reverse: false) { rows in
            last = rows.last?.key ?? last
            try await body(rows)
        }
        guard let failure else { return [] }
        var first: [UInt8]?
        let backFailure = try await pass(after: last, before: nil, reverse: true) { rows in
            first = rows.last?.key ?? first
            try await body(rows)
        }
        // The back pass met the front one: the rows between were all read.
        if backFailure == nil && first != nil { return [] }
        var pending = [Gap(after: last, before: first, reason: failure)]
        var gaps: [Gap] = []
        var probes = 0
        var boundaryProbes = 0
        let boundaries = (try? PageWalk.leafBoundaries(directory: path, database: table))?.keys ?? []
        while !pending.isEmpty {
            let gap = pending.removeFirst()
            let middle: [UInt8]
            if boundaryProbes < Self.maxBoundaryProbes, let boundary = Self.middle(of: boundaries, inside: gap) {
                boundaryProbes += 1
                middle = boundary
            } else if probes < Self.maxProbes, let halfway = Self.middle(gap.after, gap.before) {
                probes += 1
                middle = halfway
            } else {
                gaps.append(gap)
                continue
            }
            // Down from the middle (itself included), then up from it.
            var lowest: [UInt8]?
            let downStop = try await pass(after: gap.after, before: middle + [0], reverse: true) { rows in
                lowest = rows.last?.key ?? lowest
                try await body(rows)
            }
            var highest: [UInt8]?
            let upStop = try await pass(after: middle, before: gap.before, reverse: false) { rows in
                highest = rows.last?.key ?? highest
                try await body(rows)
            }
            // What is left keeps the reason first met for the range.
            if downStop != nil { pending.append(Gap(after: gap.after, before: lowest ?? middle, reason: gap.reason)) }
            if upStop != nil { pending.append(Gap(after: highest ?? middle, before: gap.before, reason: gap.reason)) }
        }
        return Self.merged(gaps)
    }

    /// The middle one of the sorted `keys` strictly inside `gap`, or nil.
    static func middle(of keys: [[UInt8]], inside gap: Gap) -> [UInt8]? {
        let start = gap.after.map { after in keys.partitioningIndex { after.lexicographicallyPrecedes($0) } } ?? 0
        let end =
            gap.before.map { before in keys.partitioningIndex { !$0.lexicographicallyPrecedes(before) } }
            ?? keys.count
        return start < end ? keys[(start + end) / 2] : nil
    }

    /// The key halfway between `low` and `high` (nil: the ends of the key
    /// space), as big-endian numbers of the longer one's length; nil when
    /// there is none strictly between them.
    static func middle(_ low: [UInt8]?, _ high: [UInt8]?) -> [UInt8]? {
        let length = max(low?.count ?? 0, high?.count ?? 0, 8)
        let a = (low ?? []) + [UInt8](repeating: 0, count: length - (low?.count ?? 0))
        let b =
            high.map { $0 + [UInt8](repeating: 0, count: length - $0.count) }
            ?? [UInt8](repeating: 0xFF, count: length)
        // (a + b) / 2, byte by byte from the most significant end.
        var sum = [UInt16](repeating: 0, count: length + 1)
        var carry: UInt16 = 0
        for index in stride(from: length - 1, through: 0, by: -1) {
            let total = UInt16(a[index]) + UInt16(b[index]) + carry
            sum[index + 1] = total & 0xFF
            carry = total >> 8
        }
        sum[0] = carry
        var middle = [UInt8](repeating: 0, count: length)
        var remainder: UInt16 = 0
        for index in 0...length {
            let value = remainder << 8 | sum[index]
            if index > 0 { middle[index - 1] = UInt8(value / 2) }
            remainder = value % 2
        }
        guard a.lexicographicallyPrecedes(middle), middle.lexicographicallyPrecedes(b) else { return nil }
        return middle
    }

    /// Gaps in key order, neighbours that meet at a probe point joined (with
    /// each distinct reason).
    static func merged(_ gaps: [Gap]) -> [Gap] {
        let sorted = gaps.sorted { lower, upper in
            guard let a = lower.after else { return upper.after != nil }
            guard let b = upper.after else { return false }
            return a.lexicographicallyPrecedes(b)
        }
        var result: [Gap] = []
        for gap in sorted {
            if let previous = result.last, let meeting = previous.before, meeting == gap.after {
                let reason =
                    previous.reason.contains(gap.reason) ? previous.reason : previous.reason + "; " + gap.reason
                result[result.count - 1] = Gap(after: previous.after, before: gap.before, reason: reason)
            } else {
                result.append(gap)
            }
        }
        return result
    }

    /// The number of rows LMDB's record of the table claims, or nil when it
    /// cannot be read.
    func storedRows() async -> Int? {
        switch isolation {
        case .inProcess:
            guard let environment, let database = try? environment.database(table) else { return nil }
            return try? environment.read { txn in try txn.count(of: database) }
        case .childProcess(let executable, let arguments, _):
            return TableRowStream.countChild(
                executable: executable, arguments: arguments + ["--store", path, "--table", table, "--count"])
        }
    }

    /// One pass over the rows strictly between `after` and `before` (nil:
    /// the table's ends), ascending or, with `reverse`, descending. Returns
    /// why it stopped early, or nil when it reached its end.
    private func pass(
        after: [UInt8]?, before: [UInt8]?, reverse: Bool, _ body: ([CopiedRow]) async throws -> Void
    ) async throws -> String? {
        switch isolation {
        case .inProcess:
            guard let environment else { preconditionFailure("in-process salvage reads need the source open") }
            var position: [UInt8]? = reverse ? before : after
            while true {
                let batch = TableRowStream.batch(
                    environment, table: table, from: position, bound: reverse ? after : before, reverse: reverse,
                    limit: TableRowStream.batchSize)
                if !batch.rows.isEmpty { try await body(batch.rows) }
                position = batch.rows.last?.key ?? position
                if let failure = batch.failure { return failure }
                if batch.rows.count < TableRowStream.batchSize { return nil }
            }
        case .childProcess(let executable, let arguments, let watchdog):
            var childArguments = arguments + ["--store", path, "--table", table]
            if let after { childArguments += ["--after", Hex.encode(after)] }
            if let before { childArguments += ["--before", Hex.encode(before)] }
            if reverse { childArguments.append("--reverse") }
            return try await TableRowStream.readChild(
                executable: executable, arguments: childArguments, watchdog: watchdog, body)
        }
    }
}

extension Array {
    /// The first index whose element satisfies `belongs`, for a predicate
    /// false on a prefix and true on the rest (binary search).
    fileprivate func partitioningIndex(where belongs: (Element) -> Bool) -> Int {
        var low = 0, high = count
        while low < high {
            let middle = (low + high) / 2
            if belongs(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
