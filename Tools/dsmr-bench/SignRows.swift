import ChunkStore
import DSMR
import LMDB

/// Rows 1 and 2: persist-and-sign of 16 KiB chunks, synced, with one caller
/// and with 64 concurrent callers (group commit), against raw LMDB doing one
/// put per synced transaction and batches of 64 puts per synced transaction.
///
/// Each row has a second baseline, `limit`: what this machine could do of
/// persist-and-sign at best, raw LMDB plus the sign path's signature work
/// (`SignLimit`: the producer's signature verified, the share signed; no
/// hashing of the chunk's bytes, which the sign path does not do), both
/// measured in the same round over the same chunks:
/// - `sign-1`: one caller's requests are serial (verify, persist, sign, then
///   the next), so the limit is one put per synced transaction followed by
///   the signature work on one thread: N / (raw seconds + work seconds).
/// - `sign-64`: the raw batches of 64 puts per synced transaction and the
///   signature work spread over every core (one task per core), as if the two
///   overlapped perfectly: N / max(raw seconds, work seconds). Optimistic:
///   the raw side's own CPU is not taken from the cores the work runs on.
enum SignRows {
    static let chunkSize = 16 * 1024
    static let transactionsPerChunk = 64
    static let producerCount = 16
    /// The same initial map for the store and the baseline, large enough
    /// that neither grows during the run.
    static let mapSize = 1 << 30

    static func run(_ selected: Set<RowName>, _ context: BenchContext) async throws -> [Row] {
        let scale = context.scale
        var rows: [Row] = []
        var signOneRate: Double?
        if selected.contains(.sign1) {
            let result = try await measure(callers: 1, perRound: scale.signOne, context)
            var row = Row(
                .sign1, unit: "chunks/s", value: result.store, baseline: result.raw,
                baselineLabel: "raw LMDB: 1 put per synced txn")
            row.limit = result.limit
            row.limitLabel = "raw LMDB then Ed25519 work, serial"
            row.goals = [Goal(text: "ratio >= 0.8", met: (row.ratio ?? 0) >= 0.8)]
            row.notes = ["16 KiB chunks, synced, one caller; \(result.cpuNote); \(result.workNote(cores: 1))"]
            row.extra = result.cpuExtra + result.limitExtra
            signOneRate = result.store
            rows.append(row)
        }
        if selected.contains(.sign64) {
            let result = try await measure(callers: 64, perRound: scale.signMany, context)
            var row = Row(
                .sign64, unit: "chunks/s", value: result.store, baseline: result.raw,
                baselineLabel: "raw LMDB: 64 puts per synced txn")
            row.limit = result.limit
            row.limitLabel = "raw LMDB overlapped with Ed25519 work on \(processorCount) cores"
            row.goals = [
                Goal(text: "ratio >= 0.7", met: (row.ratio ?? 0) >= 0.7),
                Goal(text: "limitRatio >= 0.85", met: (row.limitRatio ?? 0) >= 0.85),
            ]
            if let signOneRate {
                let speedup = result.store / signOneRate
                row.goals.append(Goal(text: ">= 10x sign-1", met: speedup >= 10))
                row.notes.append("speedup over sign-1: \(fixed(speedup, decimals: 1))x")
                row.extra.append(("speedup_over_sign_1", speedup))
            }
            row.notes.append(
                "64 concurrent callers, mean group \(fixed(result.group, decimals: 1)) chunks per commit, "
                    + "\(fixed(result.heldShare * 100, decimals: 0))% of groups held open for callers still verifying")
            row.extra.append(("held_share", result.heldShare))
            row.notes.append(result.cpuNote)
            row.notes.append(result.workNote(cores: processorCount))
            row.extra.append(("mean_group", result.group))
            row.extra += result.cpuExtra + result.limitExtra
            rows.append(row)
        }
        return rows
    }

    struct Result {
        /// Chunks per second, medians over the rounds.
        var store: Double
        var raw: Double
        /// Raw LMDB and the signature work combined (see `SignRows`).
        var limit: Double
        /// The signature work alone, on one thread (sign-1) or every core.
        var work: Double
        /// The store's mean group-commit size.
        var group: Double
        /// The share of the store's groups it held open for callers on their way.
        var heldShare: Double
        /// Process CPU microseconds per chunk (every thread), medians.
        var storeCPU: Double
        var rawCPU: Double

        var cpuNote: String {
            "CPU per chunk: store \(fixed(storeCPU, decimals: 0)) µs, raw \(fixed(rawCPU, decimals: 0)) µs"
        }
        var cpuExtra: [(key: String, value: Double)] {
            [("store_cpu_us_per_chunk", storeCPU), ("raw_cpu_us_per_chunk", rawCPU)]
        }
        func workNote(cores: Int) -> String {
            "Ed25519 work alone: \(pretty(work)) chunks/s on \(cores) core\(cores == 1 ? "" : "s")"
        }
        var limitExtra: [(key: String, value: Double)] {
            [("work_chunks_per_s", work)]
        }
    }

    /// Measures the store and the baseline over alternating rounds.
    static func measure(callers: Int, perRound: Int, _ context: BenchContext) async throws -> Result {
        let scale = context.scale
        let label = callers == 1 ? "sign-1" : "sign-\(callers)"
        let warmup = callers == 1 ? 4 : callers
        let total = warmup + scale.signRounds * perRound
        let producers = Fixture.signers(producerCount)
        let validators = Fixture.validatorSet(producers)
        let producerCount = self.producerCount
        log("\(label): making \(total) chunks of \(chunkSize) bytes")
        let chunks = try await Fixture.chunks(
            count: total, producers: producers, encodedSize: chunkSize, transactions: transactionsPerChunk
        ) { index in (index % producerCount, 1 + UInt64(index / producerCount)) }
        let records = chunks.map(Fixture.record)
        let now = Fixture.rules.slotStart(chunks.map(\.slot).max()!)

        let storePath = try context.workspace.directory("\(label)-store")
        let rawPath = try context.workspace.directory("\(label)-raw")
        defer {
            context.workspace.discard(storePath)
            context.workspace.discard(rawPath)
        }
        var configuration = Fixture.configuration(path: storePath, durability: .synced, mapSize: mapSize)
        if let wait = context.maxGroupWait { configuration.maxGroupWait = wait }
        let store = try ChunkStore(configuration)
        defer { store.close() }
        let limit = SignLimit(
            validators: validators, rules: configuration.rules, domain: configuration.domain, signer: Fixture.node)
        let raw = try RawEnvironment(path: rawPath, mapSize: mapSize)
        defer { raw.close() }

        try await Fixture.persist(chunks[0..<warmup], into: store, validators: validators, now: now, callers: callers)
        try raw.put(records[0..<warmup], batch: callers)

        var storeRates: [Double] = []
        var rawRates: [Double] = []
        var workRates: [Double] = []
        var limitRates: [Double] = []
        var storeCPU: [Double] = []
        var rawCPU: [Double] = []
        var batches = 0
        var requests = 0
        var held = 0
        for round in 0..<scale.signRounds {
            let range = (warmup + round * perRound)..<(warmup + (round + 1) * perRound)
            var rawSeconds = 0.0
            func measureRaw() throws {
                let time = try measured { try raw.put(records[range], batch: callers) }
                rawSeconds = time.wall
                rawRates.append(Double(range.count) / time.wall)
                rawCPU.append(time.cpu * 1e6 / Double(range.count))
            }
            var workSeconds = 0.0
            func measureWork() async throws {
                workSeconds =
                    callers == 1
                    ? try limit.serialSeconds(chunks[range])
                    : try await limit.parallelSeconds(chunks[range], workers: processorCount)
                workRates.append(Double(range.count) / workSeconds)
            }
            func measureStore() async throws {
                let before = store.groupCommitCounts
                let heldBefore = store.groupsHeldOpen
                let time = try await measured {
                    try await Fixture.persist(
                        chunks[range], into: store, validators: validators, now: now, callers: callers)
                }
                let after = store.groupCommitCounts
                batches += after.batches - before.batches
                requests += after.requests - before.requests
                held += store.groupsHeldOpen - heldBefore
                storeRates.append(Double(range.count) / time.wall)
                storeCPU.append(time.cpu * 1e6 / Double(range.count))
            }
            // Alternate which side goes first, so drift hits both alike.
            if round % 2 == 0 {
                try measureRaw()
                try await measureWork()
                try await measureStore()
            } else {
                try await measureStore()
                try await measureWork()
                try measureRaw()
            }
            let limitSeconds = callers == 1 ? rawSeconds + workSeconds : max(rawSeconds, workSeconds)
            limitRates.append(Double(range.count) / limitSeconds)
            log(
                "  \(label) round \(round + 1): store \(pretty(storeRates.last!)) /s, "
                    + "raw \(pretty(rawRates.last!)) /s, Ed25519 work \(pretty(workRates.last!)) /s, "
                    + "limit \(pretty(limitRates.last!)) /s")
        }
        return Result(
            store: median(storeRates), raw: median(rawRates), limit: median(limitRates), work: median(workRates),
            group: Double(requests) / Double(max(1, batches)), heldShare: Double(held) / Double(max(1, batches)),
            storeCPU: median(storeCPU), rawCPU: median(rawCPU))
    }
}
