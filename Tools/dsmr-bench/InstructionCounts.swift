import ChunkStore
import DSMR
import Foundation

/// `--instructions`: machine instructions per chunk of the sign path, counted
/// by valgrind's callgrind. Instruction counts, unlike times, repeat from run
/// to run whatever else the machine is doing, so they show a change of a few
/// percent that timing on a shared machine cannot.
///
/// Each side runs in a child process of this executable under callgrind,
/// twice: once doing `small` operations and once `large`, after making the
/// same chunks and the same warm-up both times. The difference of the two
/// totals over `large - small` is the cost of one operation, with the start,
/// the fixtures and the warm-up cancelled out. The sides, on one caller, all
/// over the same 16 KiB chunks as `sign-1`:
/// - `store`: `ChunkStore.persistAndSign`, synced (checks, the producer's
///   signature verified, the transaction and its commit, the share signed);
/// - `work`: the Ed25519 work alone (`SignLimit.work`);
/// - `raw`: raw LMDB, one put per synced transaction.
///
/// Callgrind runs every thread of the child on one core, so the counts are
/// of the one-caller path; `store - work - raw` is what the store adds.
enum InstructionCounts {
    enum Side: String, CaseIterable {
        case store, work, raw
    }

    /// Operations in the two runs of each side.
    static let small = 16
    static let large = 64
    static let warmup = 4

    /// Counts every side and returns the figures for a row's `extra` and a note.
    static func measure(_ context: BenchContext) throws -> (extra: [(key: String, value: Double)], note: String) {
        guard let valgrind = executableOnPath("valgrind") else {
            throw BenchError("--instructions needs valgrind (apt-get install valgrind)")
        }
        // valgrind 3.19 cannot read the DWARF 5 debug information Swift
        // writes: count a copy without it (the symbols stay).
        let copy = try context.workspace.directory("callgrind-executable") + "/dsmr-bench"
        try run("/usr/bin/objcopy", ["--strip-debug", selfExecutable(), copy])
        var perChunk: [Side: Double] = [:]
        for side in Side.allCases {
            let few = try count(side, operations: small, executable: copy, valgrind: valgrind, context)
            let many = try count(side, operations: large, executable: copy, valgrind: valgrind, context)
            perChunk[side] = Double(many - few) / Double(large - small)
            log("  instructions per chunk, \(side.rawValue): \(pretty(perChunk[side]!))")
        }
        let store = perChunk[.store]!
        let work = perChunk[.work]!
        let raw = perChunk[.raw]!
        let added = store - work - raw
        let extra: [(key: String, value: Double)] = [
            ("store_instructions_per_chunk", store), ("work_instructions_per_chunk", work),
            ("raw_instructions_per_chunk", raw), ("added_instructions_per_chunk", added),
        ]
        let note =
            "instructions per chunk (callgrind, one caller): store \(pretty(store)), Ed25519 work \(pretty(work)), raw LMDB \(pretty(raw)); the store adds \(pretty(added)) (\(fixed(100 * added / work, decimals: 0))% of the work)"
        return (extra, note)
    }

    /// Runs one side in a child under callgrind and returns its total instruction count.
    static func count(
        _ side: Side, operations: Int, executable: String, valgrind: String, _ context: BenchContext
    ) throws -> Int {
        let output = try context.workspace.directory("callgrind-\(side.rawValue)-\(operations)")
        defer { context.workspace.discard(output) }
        let profile = output + "/callgrind.out"
        try run(
            valgrind,
            [
                "--tool=callgrind", "--callgrind-out-file=\(profile)", "-q", executable,
                "--count-child", "\(side.rawValue):\(operations)", "--temp-directory", output,
            ])
        guard let text = try? String(contentsOfFile: profile, encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("totals:") || $0.hasPrefix("summary:") }
            ),
            let total = line.split(separator: " ").last.flatMap({ Int($0) })
        else { throw BenchError("callgrind wrote no total to \(profile)") }
        return total
    }

    /// The child's work: `operations` operations of `side` after the fixtures and a warm-up.
    static func child(_ specification: String, workspace: Workspace) async throws {
        let parts = specification.split(separator: ":")
        guard parts.count == 2, let side = Side(rawValue: String(parts[0])), let operations = Int(parts[1]),
            (0...large).contains(operations)
        else {
            throw BenchError("--count-child takes side:operations, side one of store, work, raw; got \(specification)")
        }
        let producers = Fixture.signers(SignRows.producerCount)
        let validators = Fixture.validatorSet(producers)
        let producerCount = SignRows.producerCount
        // The same chunks in every run, however many operations it does.
        let chunks = try await Fixture.chunks(
            count: warmup + large, producers: producers, encodedSize: SignRows.chunkSize,
            transactions: SignRows.transactionsPerChunk
        ) { index in (index % producerCount, 1 + UInt64(index / producerCount)) }
        let now = Fixture.rules.slotStart(chunks.map(\.slot).max()!)
        let used = chunks[0..<(warmup + operations)]
        switch side {
        case .store:
            let path = try workspace.directory("store")
            let store = try ChunkStore(
                Fixture.configuration(path: path, durability: .synced, mapSize: SignRows.mapSize))
            defer { store.close() }
            for chunk in used {
                _ = try await store.persistAndSign(chunk, validators: validators, now: .milliseconds(now))
            }
        case .work:
            let limit = SignLimit(
                validators: validators, rules: Fixture.rules, domain: Fixture.domain, signer: Fixture.node)
            for chunk in used { try limit.work(chunk) }
        case .raw:
            let records = chunks.map(Fixture.record)
            let raw = try RawEnvironment(path: try workspace.directory("raw"), mapSize: SignRows.mapSize)
            defer { raw.close() }
            try raw.put(records[0..<(warmup + operations)], batch: 1)
        }
    }

    /// Runs `executable` with `arguments`; throws unless it exits with 0.
    private static func run(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BenchError(
                "\(([executable] + arguments).joined(separator: " ")) exited with \(process.terminationStatus)")
        }
    }

    /// This executable's path.
    private static func selfExecutable() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// The first `name` on `PATH` that can be executed.
    private static func executableOnPath(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }
}
