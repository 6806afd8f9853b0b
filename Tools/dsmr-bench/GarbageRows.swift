import ChunkStore
import DSMR
import LMDB

/// Rows 5 and 6: garbage collection of the same number of expired chunks in
/// a store holding only those (gc-small) and in a store of 1,000,000 chunks
/// (gc-large; the figure is the ratio of the two times), and opening the
/// large store (open-1m: time and anonymous resident memory).
///
/// Both stores hold small chunks (256 bytes encoded) of 100 producers, one
/// chunk per producer and slot, so the 10,000 that expire first are the
/// first 100 slots. They are filled through `persistAndSign` itself — every
/// chunk made and signed by its producer, checked and signed by the store,
/// with its index, ledger and `signed` rows — but with `.noSync` commits and
/// 128 concurrent callers (groups of up to 128), then flushed once, closed,
/// and reopened synced: the garbage collection is measured as a node runs
/// it, one synced transaction.
enum GarbageRows {
    static let chunkSize = 256
    static let callers = 128
    /// The same map for every store, large enough that none grows.
    static let mapSize = 4 << 30
    static let databaseNames = [
        "meta", "chunks", "by_slot_producer", "by_expiry", "certificates", "signed", "ledger", "evidence", "blocks",
    ]

    static func run(_ selected: Set<RowName>, _ context: BenchContext) async throws -> [Row] {
        let scale = context.scale
        let producerCount = scale.gcProducers
        let producers = Fixture.signers(producerCount)
        let validators = Fixture.validatorSet(producers)
        let expired = scale.gcExpired
        precondition(expired % producerCount == 0, "expired chunks must fill whole slots")
        let slotsPerRound = UInt64(expired / producerCount)
        let spec: @Sendable (Int) -> (producer: Int, slot: UInt64) = { index in
            (index % producerCount, 1 + UInt64(index / producerCount))
        }
        /// Collecting up to this watermark removes the first `rounds × expired` chunks.
        func watermark(afterRounds rounds: Int) -> Int64 {
            Fixture.rules.expiry(ofSlot: slotsPerRound * UInt64(rounds))
        }

        func filledStore(_ count: Int, label: String) async throws -> (path: String, fillRate: Double) {
            let path = try context.workspace.directory(label)
            let now = Fixture.rules.slotStart(spec(count - 1).slot)
            let store = try ChunkStore(Fixture.configuration(path: path, durability: .noSync, mapSize: mapSize))
            let time = try await seconds {
                try await Fixture.fill(
                    store, count: count, producers: producers, validators: validators, now: now,
                    encodedSize: chunkSize, transactions: 1, callers: callers, label: label, spec: spec)
                try store.sync()
            }
            store.close()
            return (path, Double(count) / time)
        }

        /// Collects round `round` (the next `expired` chunks) in one synced transaction; milliseconds.
        func collect(_ store: ChunkStore, round: Int) async throws -> Double {
            var report: GarbageReport?
            let time = try await seconds {
                report = try await store.collectGarbage(upTo: .milliseconds(watermark(afterRounds: round + 1)))
            }
            guard report?.expiredPending == expired else {
                throw BenchError("gc: collected \(report?.expiredPending ?? 0) chunks, not \(expired)")
            }
            return time * 1_000
        }

        /// The same call with nothing left to collect: one small synced
        /// commit, the floor under every collection on that store.
        func floor(_ store: ChunkStore, round: Int) async throws -> Double {
            try await seconds {
                _ = try await store.collectGarbage(upTo: .milliseconds(watermark(afterRounds: round + 1)))
            } * 1_000
        }

        var rows: [Row] = []
        let wantsLarge = selected.contains(.gcLarge) || selected.contains(.open1m)
        var smallTimes: [Double] = []
        var smallFloors: [Double] = []
        if selected.contains(.gcSmall) || selected.contains(.gcLarge) {
            for round in 0..<scale.rounds {
                log("gc-small: filling a store of \(expired) chunks (round \(round + 1))")
                let (path, _) = try await filledStore(expired, label: "gc-small")
                let store = try ChunkStore(Fixture.configuration(path: path, durability: .synced, mapSize: mapSize))
                smallTimes.append(try await collect(store, round: 0))
                smallFloors.append(try await floor(store, round: 0))
                store.close()
                context.workspace.discard(path)
                log("  gc-small round \(round + 1): \(pretty(smallTimes.last!)) ms")
            }
            if selected.contains(.gcSmall) {
                var row = Row(.gcSmall, unit: "ms", value: median(smallTimes))
                row.notes = [
                    "collectGarbage of \(expired) expired chunks, all of a \(expired)-chunk store, one synced txn"
                ]
                rows.append(row)
            }
        }
        guard wantsLarge else { return rows }

        let size = scale.gcLargeStore
        log("gc-large: filling a store of \(size) chunks (persistAndSign, .noSync, \(callers) callers)")
        let (path, fillRate) = try await filledStore(size, label: "gc-large")
        defer { context.workspace.discard(path) }
        let bytes = directorySize(path)
        log("  filled at \(pretty(fillRate)) chunks/s; \(bytes >> 20) MiB on disk")

        var openRow: Row?
        if selected.contains(.open1m) {
            var storeTimes: [Double] = []
            var rawTimes: [Double] = []
            var before = 0
            var after = 0
            for round in 0..<scale.openRounds {
                func openStore() throws {
                    releaseFreeHeap()
                    let rssBefore = residentAnonymousBytes() ?? 0
                    var store: ChunkStore?
                    let time = try seconds {
                        store = try ChunkStore(Fixture.configuration(path: path, durability: .synced, mapSize: mapSize))
                    }
                    let rssAfter = residentAnonymousBytes() ?? 0
                    store?.close()
                    store = nil
                    storeTimes.append(time * 1_000)
                    if rssAfter > after {
                        after = rssAfter
                        before = rssBefore
                    }
                }
                func openRaw() throws {
                    rawTimes.append(try RawEnvironment.timeOpen(path: path, databases: databaseNames) * 1_000)
                }
                if round % 2 == 0 {
                    try openStore()
                    try openRaw()
                } else {
                    try openRaw()
                    try openStore()
                }
            }
            let mebibytes = { (bytes: Int) in Double(bytes) / Double(1 << 20) }
            var row = Row(
                .open1m, unit: "ms", value: median(storeTimes), baseline: median(rawTimes),
                baselineLabel: "raw LMDB open + 9 dbi opens")
            row.goals = [
                Goal(text: "< 50 ms", met: median(storeTimes) < 50),
                Goal(text: "RssAnon < 64 MiB", met: mebibytes(after) < 64),
            ]
            row.notes = [
                "store of \(size) chunks (\(bytes >> 20) MiB); RssAnon after open \(fixed(mebibytes(after), decimals: 1)) MiB "
                    + "(\(fixed(mebibytes(before), decimals: 1)) MiB before: the bench process itself)"
            ]
            row.extra = [("rss_anon_mib", mebibytes(after)), ("rss_anon_before_open_mib", mebibytes(before))]
            openRow = row
        }

        if selected.contains(.gcLarge) {
            let store = try ChunkStore(Fixture.configuration(path: path, durability: .synced, mapSize: mapSize))
            var largeTimes: [Double] = []
            var largeFloors: [Double] = []
            for round in 0..<scale.rounds {
                largeTimes.append(try await collect(store, round: round))
                largeFloors.append(try await floor(store, round: round))
                log("  gc-large round \(round + 1): \(pretty(largeTimes.last!)) ms")
            }
            store.close()
            var row = Row(
                .gcLarge, unit: "ms", value: median(largeTimes), baseline: median(smallTimes), baselineLabel: "gc-small"
            )
            row.goals = [Goal(text: "ratio <= 1.5", met: (row.ratio ?? .infinity) <= 1.5)]
            row.notes = [
                "collectGarbage of \(expired) expired chunks in a store of \(size) (\(bytes >> 20) MiB), one synced txn; "
                    + "filled through persistAndSign (.noSync, \(callers) callers) at \(fixed(fillRate, decimals: 0)) chunks/s",
                "a synced commit with nothing to collect takes \(pretty(median(smallFloors))) ms on the small store and "
                    + "\(pretty(median(largeFloors))) ms on the large one",
            ]
            row.extra.append(("commit_floor_small_ms", median(smallFloors)))
            row.extra.append(("commit_floor_large_ms", median(largeFloors)))
            rows.append(row)
        }
        if let openRow { rows.append(openRow) }
        return rows
    }
}
