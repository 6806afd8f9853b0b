import LMDB
import Testing

/// Stores `keys` (each key also its value) in one transaction.
private func store(_ keys: [[UInt8]], in env: Environment, _ db: Database, valueSize: Int = 0) throws {
    try env.write { txn in
        for key in keys {
            let value = valueSize == 0 ? key : key + [UInt8](repeating: 0xAB, count: valueSize)
            try txn.put(value, forKey: key, in: db)
        }
    }
}

/// The keys a scan over `range` visits.
private func scannedKeys(
    _ env: Environment, _ db: Database, _ range: KeyRange, reverse: Bool = false
) throws -> [[UInt8]] {
    try env.read { txn in
        var keys: [[UInt8]] = []
        try txn.scan(db, in: range, reverse: reverse) { entry in
            keys.append(entry.keyBytes)
            return .next
        }
        return keys
    }
}

@Suite("Scans and cursors")
struct ScanTests {
    static let boundaryNumbers: [UInt64] = [
        0, 1, 2, 127, 128, 255, 256, 257, 1_000, 65_535, 65_536, 1 << 24, 1 << 32, (1 << 32) + 1,
        1 << 56, UInt64.max - 1, UInt64.max,
    ]

    @Test func bigEndianIntegerKeysScanInNumericOrder() throws {
        try withEnvironment { env, db, _ in
            var generator = SystemRandomNumberGenerator()
            let numbers =
                Self.boundaryNumbers + (0..<2_000).map { _ in UInt64.random(in: 0...UInt64.max, using: &generator) }
            let unique = Array(Set(numbers))
            try store(unique.shuffled().map(bigEndianKey), in: env, db)
            let scanned = try allKeys(env, db).map(bigEndianValue)
            #expect(scanned == unique.sorted())
            let reversed = try allKeys(env, db, reverse: true).map(bigEndianValue)
            #expect(reversed == unique.sorted().reversed())
        }
    }

    @Test func rangeScanVisitsKeysFromLowerInclusiveToUpperExclusive() throws {
        try withEnvironment { env, db, _ in
            try store((0..<1_000 as Range<UInt64>).map { bigEndianKey($0 * 3) }, in: env, db)
            let range = KeyRange(lower: bigEndianKey(300), upper: bigEndianKey(600))
            #expect(try scannedKeys(env, db, range).map(bigEndianValue) == Array(stride(from: 300, to: 600, by: 3)))
            // Bounds that are not stored keys.
            let between = KeyRange(lower: bigEndianKey(301), upper: bigEndianKey(599))
            #expect(
                try scannedKeys(env, db, between).map(bigEndianValue) == Array(stride(from: 303, through: 597, by: 3)))
            #expect(try scannedKeys(env, db, .from(bigEndianKey(2_990))).map(bigEndianValue) == [2_991, 2_994, 2_997])
            // Empty ranges.
            #expect(try scannedKeys(env, db, KeyRange(lower: bigEndianKey(5_000))).isEmpty)
            #expect(try scannedKeys(env, db, KeyRange(lower: bigEndianKey(10), upper: bigEndianKey(10))).isEmpty)
            #expect(try scannedKeys(env, db, KeyRange(lower: bigEndianKey(10), upper: bigEndianKey(5))).isEmpty)
        }
    }

    @Test func rangeScanReturnsTheNumberVisitedAndStopsWhenAsked() throws {
        try withEnvironment { env, db, _ in
            try store((0..<100 as Range<UInt64>).map(bigEndianKey), in: env, db)
            let (visited, seen) = try env.read { txn throws in
                var seen: [UInt64] = []
                let visited = try txn.scan(db, in: .from(bigEndianKey(10))) { entry in
                    seen.append(bigEndianValue(entry.keyBytes))
                    return seen.count == 5 ? .stop : .next
                }
                return (visited, seen)
            }
            #expect(visited == 5)
            #expect(seen == [10, 11, 12, 13, 14])
            #expect(try env.read { try $0.scan(db) { _ in .next } } == 100)
        }
    }

    @Test func scanOfAnEmptyDatabaseVisitsNothing() throws {
        try withEnvironment { env, db, _ in
            #expect(try scannedKeys(env, db, .all).isEmpty)
            #expect(try scannedKeys(env, db, .all, reverse: true).isEmpty)
            #expect(try scannedKeys(env, db, .prefix([1]), reverse: true).isEmpty)
            try env.read { txn throws in
                try txn.withCursor(on: db) { cursor throws in
                    #expect(try cursor.first() == nil)
                    #expect(try cursor.last() == nil)
                    #expect(try cursor.seek(atLeast: bytes("a")) == nil)
                }
            }
        }
    }

    @Test func prefixScanVisitsExactlyTheKeysWithThePrefix() throws {
        try withEnvironment { env, db, _ in
            let keys = ["use", "user", "user/", "user/1", "user/2", "user/20", "user0", "userz", "users", "v", "a"].map(
                bytes)
            try store(keys, in: env, db)
            #expect(
                try scannedKeys(env, db, .prefix(bytes("user/")))
                    == ["user/", "user/1", "user/2", "user/20"].map(bytes))
            #expect(
                try scannedKeys(env, db, .prefix(bytes("user/")), reverse: true)
                    == ["user/20", "user/2", "user/1", "user/"].map(bytes))
            #expect(try scannedKeys(env, db, .prefix(bytes("nope"))).isEmpty)
            #expect(try scannedKeys(env, db, .prefix(bytes("v"))) == [bytes("v")])
        }
    }

    @Test func prefixOfFFBytesScansToTheEndOfTheDatabase() throws {
        try withEnvironment { env, db, _ in
            let keys: [[UInt8]] = [
                [0xFE], [0xFE, 0xFF], [0xFF], [0xFF, 0x00], [0xFF, 0xFE, 0xFF], [0xFF, 0xFF],
                [0xFF, 0xFF, 0x00], [0xFF, 0xFF, 0xFF], [0xFF, 0xFF, 0xFF, 0xFF],
            ]
            try store(keys.shuffled(), in: env, db)
            let expected: [[UInt8]] = [
                [0xFF, 0xFF], [0xFF, 0xFF, 0x00], [0xFF, 0xFF, 0xFF], [0xFF, 0xFF, 0xFF, 0xFF],
            ]
            #expect(try scannedKeys(env, db, .prefix([0xFF, 0xFF])) == expected)
            #expect(try scannedKeys(env, db, .prefix([0xFF, 0xFF]), reverse: true) == expected.reversed())
            #expect(try scannedKeys(env, db, .prefix([0xFF])) == Array(keys[2...]))
            #expect(try scannedKeys(env, db, .prefix([0xFE])) == [[0xFE], [0xFE, 0xFF]])
            #expect(try scannedKeys(env, db, .prefix([0xFE]), reverse: true) == [[0xFE, 0xFF], [0xFE]])
        }
    }

    @Test func emptyPrefixAndEmptyLowerBoundScanEverything() throws {
        try withEnvironment { env, db, _ in
            let keys = (0..<50 as Range<UInt64>).map(bigEndianKey)
            try store(keys, in: env, db)
            #expect(try scannedKeys(env, db, .prefix([])) == keys)
            #expect(try scannedKeys(env, db, .prefix([]), reverse: true) == keys.reversed())
            #expect(try scannedKeys(env, db, .from([])) == keys)
            // An empty upper bound is below every key: nothing.
            #expect(try scannedKeys(env, db, KeyRange(upper: [])).isEmpty)
            #expect(try scannedKeys(env, db, KeyRange(upper: []), reverse: true).isEmpty)
        }
    }

    @Test func reverseScansRunFromTheLargestKeyDown() throws {
        try withEnvironment { env, db, _ in
            try store((0..<500 as Range<UInt64>).map { bigEndianKey($0 * 2) }, in: env, db)
            let all = try scannedKeys(env, db, .all, reverse: true).map(bigEndianValue)
            #expect(all == Array(stride(from: 998, through: 0, by: -2)))
            // Through a key that is stored: it is included.
            #expect(
                try scannedKeys(env, db, .through(bigEndianKey(10)), reverse: true).map(bigEndianValue) == [
                    10, 8, 6, 4, 2, 0,
                ])
            // Through a key that is not stored: starts below it.
            #expect(
                try scannedKeys(env, db, .through(bigEndianKey(11)), reverse: true).map(bigEndianValue) == [
                    10, 8, 6, 4, 2, 0,
                ])
            // Through a key above every key: starts at the last.
            #expect(try scannedKeys(env, db, .through(bigEndianKey(5_000)), reverse: true).count == 500)
            // Through a key below every key: nothing.
            #expect(try scannedKeys(env, db, .through([0]), reverse: true).isEmpty)
            // A bounded reverse range stops at its lower bound.
            let bounded = KeyRange(lower: bigEndianKey(991), upper: bigEndianKey(998))
            #expect(try scannedKeys(env, db, bounded, reverse: true).map(bigEndianValue) == [996, 994, 992])
            // Forward through a key.
            #expect(try scannedKeys(env, db, .through(bigEndianKey(4))).map(bigEndianValue) == [0, 2, 4])
        }
    }

    // MARK: Deleting while iterating

    /// Runs a deleting scan over `count` multi-page entries and checks which
    /// entries it visited and which remain.
    private func checkDeletingScan(
        count: UInt64, reverse: Bool, range: KeyRange = .all, deleteWhere shouldDelete: @escaping (UInt64) -> Bool
    ) throws {
        try withEnvironment { env, db, _ in
            let numbers = Array(0..<count)
            // 200-byte values: about 18 entries per 4 KiB leaf page, so the
            // scan crosses many page boundaries and deletes empty whole pages.
            try store(numbers.map(bigEndianKey), in: env, db, valueSize: 200)
            let visited = try env.write { txn throws in
                var visited: [UInt64] = []
                try txn.scan(db, in: range, reverse: reverse) { entry in
                    let number = bigEndianValue(entry.keyBytes)
                    visited.append(number)
                    return shouldDelete(number) ? .delete : .next
                }
                return visited
            }
            let inRange = numbers.filter { range.contains(bigEndianKey($0)) }
            #expect(visited == (reverse ? inRange.reversed() : inRange))
            let expectedRemaining = numbers.filter { !(range.contains(bigEndianKey($0)) && shouldDelete($0)) }
            #expect(try allKeys(env, db).map(bigEndianValue) == expectedRemaining)
            #expect(try env.read { try $0.count(of: db) } == expectedRemaining.count)
        }
    }

    @Test(arguments: [false, true])
    func scanDeletingEveryOtherEntryVisitsEachOnceAndKeepsTheRest(reverse: Bool) throws {
        try checkDeletingScan(count: 3_000, reverse: reverse) { $0 % 2 == 0 }
        try checkDeletingScan(count: 3_000, reverse: reverse) { $0 % 2 == 1 }
    }

    @Test(arguments: [false, true])
    func scanDeletingEveryEntryEmptiesTheDatabase(reverse: Bool) throws {
        try checkDeletingScan(count: 3_000, reverse: reverse) { _ in true }
        try checkDeletingScan(count: 1, reverse: reverse) { _ in true }
    }

    @Test(arguments: [false, true])
    func scanDeletingRunsOfEntriesKeepsTheOthers(reverse: Bool) throws {
        // Runs long enough to empty whole pages, interleaved with kept runs.
        try checkDeletingScan(count: 3_000, reverse: reverse) { ($0 / 37) % 3 != 0 }
        try checkDeletingScan(count: 3_000, reverse: reverse) { $0 < 1_500 }
        try checkDeletingScan(count: 3_000, reverse: reverse) { $0 >= 1_500 }
    }

    @Test(arguments: [false, true])
    func scanDeletingInsideARangeLeavesItsNeighbours(reverse: Bool) throws {
        let range = KeyRange(lower: bigEndianKey(1_000), upper: bigEndianKey(2_000))
        try checkDeletingScan(count: 3_000, reverse: reverse, range: range) { _ in true }
        try checkDeletingScan(count: 3_000, reverse: reverse, range: range) { $0 % 2 == 0 }
    }

    @Test func scanDeleteInAReadTransactionIsRefused() throws {
        try withEnvironment { env, db, _ in
            try store([bytes("k")], in: env, db)
            let error = #expect(throws: LMDBError.self) {
                try env.read { txn in try txn.scan(db) { _ in .delete } }
            }
            #expect(error?.code == .readOnly)
            #expect(try env.read { try $0.count(of: db) } == 1)
        }
    }

    // MARK: Cursors

    @Test func cursorMovesFirstLastNextPreviousAndSeeks() throws {
        try withEnvironment { env, db, _ in
            try store([10, 20, 30, 40].map(bigEndianKey), in: env, db)
            try env.read { txn throws in
                try txn.withCursor(on: db) { cursor throws in
                    #expect(try cursor.first().map { bigEndianValue($0.keyBytes) } == 10)
                    #expect(try cursor.previous() == nil)
                    #expect(try cursor.first().map { bigEndianValue($0.valueBytes) } == 10)
                    #expect(try cursor.next().map { bigEndianValue($0.keyBytes) } == 20)
                    #expect(try cursor.current().map { bigEndianValue($0.keyBytes) } == 20)
                    #expect(try cursor.last().map { bigEndianValue($0.keyBytes) } == 40)
                    #expect(try cursor.next() == nil)
                    #expect(try cursor.last().map { bigEndianValue($0.keyBytes) } == 40)
                    #expect(try cursor.previous().map { bigEndianValue($0.keyBytes) } == 30)

                    #expect(try cursor.seek(atLeast: bigEndianKey(20)).map { bigEndianValue($0.keyBytes) } == 20)
                    #expect(try cursor.seek(atLeast: bigEndianKey(21)).map { bigEndianValue($0.keyBytes) } == 30)
                    #expect(try cursor.seek(atLeast: bigEndianKey(41)) == nil)
                    #expect(try cursor.seek(atLeast: [UInt8]()).map { bigEndianValue($0.keyBytes) } == 10)

                    #expect(try cursor.seek(exactly: bigEndianKey(30)).map { bigEndianValue($0.valueBytes) } == 30)
                    #expect(try cursor.next().map { bigEndianValue($0.keyBytes) } == 40)
                    #expect(try cursor.seek(exactly: bigEndianKey(31)) == nil)

                    #expect(try cursor.seek(below: bigEndianKey(30)).map { bigEndianValue($0.keyBytes) } == 20)
                    #expect(try cursor.seek(below: bigEndianKey(31)).map { bigEndianValue($0.keyBytes) } == 30)
                    #expect(try cursor.seek(below: bigEndianKey(99)).map { bigEndianValue($0.keyBytes) } == 40)
                    #expect(try cursor.seek(below: bigEndianKey(10)) == nil)
                    #expect(try cursor.seek(below: [UInt8]()) == nil)
                    #expect(try cursor.seek(below: nil as [UInt8]?).map { bigEndianValue($0.keyBytes) } == 40)
                    #expect(cursor.database == db)
                }
            }
        }
    }

    private struct Rollback: Error {}

    /// Deleting at every position of a many-page database, then moving
    /// `next()` or `previous()`, lands on the neighbour: including at page
    /// boundaries and at both ends. Each case runs in a write that is then
    /// rolled back by throwing.
    @Test func cursorDeleteThenNextOrPreviousLandsOnTheNeighbourAtEveryPosition() throws {
        try withEnvironment { env, db, _ in
            // 1 KiB values: 3 entries per leaf page, so every third position
            // or so is a page boundary.
            let count: UInt64 = 90
            try store((0..<count).map(bigEndianKey), in: env, db, valueSize: 1_000)
            #expect(try env.read { try $0.statistics(of: db) }.leafPages >= 20)
            for position in 0..<count {
                for forward in [true, false] {
                    var landed: (key: UInt64, valueKey: UInt64)?? = .none
                    #expect(throws: Rollback.self) {
                        try env.write { txn throws in
                            try txn.withCursor(on: db) { cursor throws in
                                #expect(try cursor.seek(exactly: bigEndianKey(position)) != nil)
                                try cursor.deleteCurrent()
                                let entry = forward ? try cursor.next() : try cursor.previous()
                                landed = .some(
                                    entry.map {
                                        (bigEndianValue($0.keyBytes), bigEndianValue($0.valueBytes.prefix(8)))
                                    })
                            }
                            throw Rollback()
                        }
                    }
                    let expected: UInt64? =
                        forward
                        ? (position + 1 < count ? position + 1 : nil)
                        : (position > 0 ? position - 1 : nil)
                    let result = try #require(landed)
                    #expect(result?.key == expected, "delete at \(position), then \(forward ? "next" : "previous")")
                    #expect(result?.valueKey == expected)
                }
            }
            #expect(try env.read { try $0.count(of: db) } == Int(count))
        }
    }
}
