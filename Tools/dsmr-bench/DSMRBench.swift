import ArgumentParser
import Dispatch

/// The entry point: runs the command on the concurrency pool while the main
/// thread waits. Not an `async` main, whose main-queue loop valgrind cannot
/// run (`--instructions` runs this executable under callgrind).
@main
enum BenchEntry {
    static func main() {
        let finished = DispatchSemaphore(value: 0)
        // Detached: a task made here would belong to the main actor, whose
        // queue never runs while this thread waits.
        Task.detached {
            await DSMRBench.main()
            finished.signal()
        }
        finished.wait()
    }
}

struct DSMRBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dsmr-bench",
        abstract: "Benchmarks the chunk store against raw LMDB measured in the same run.",
        discussion: """
            Rows, in order: \(RowName.allCases.map(\.rawValue).joined(separator: ", ")).
            Every storage row is also measured through LMDB's C API with the same value sizes,
            durability and transaction grouping; `ratio` is value / baseline. The sign rows also
            have `limit`, raw LMDB plus the sign path's Ed25519 work, and `limitRatio` = value / limit.
            """)

    @Flag(help: "Small sizes: every row well under 10 seconds.")
    var quick = false

    @Flag(
        help:
            "Print the rows as a JSON array of {name, unit, value, baseline, ratio}, plus limit and limitRatio on the sign rows (machine and progress go to standard error)."
    )
    var json = false

    @Option(help: "Comma-separated rows to run, e.g. sign-1,read (default: every row).")
    var rows: String?

    @Option(help: "Where to make the temporary stores (default: $TMPDIR, else /tmp).")
    var tempDirectory: String?

    @Flag(
        help:
            "Also count machine instructions per chunk of the sign path under valgrind's callgrind (store, Ed25519 work, raw LMDB; one caller) and add them to the first sign row. Slow: a few minutes."
    )
    var instructions = false

    @Option(
        help:
            "The store's maxGroupWait for the sign rows, in microseconds (default: the store's default; 0 closes every group at once), to compare the group wait on and off in one build."
    )
    var maxGroupWaitMicroseconds: Int?

    @Option(
        help:
            "Rounds of the sign rows (default 3, or 1 with --quick): more rounds give steadier medians on a machine whose speed drifts."
    )
    var signRounds: Int?

    @Option(help: .hidden)
    var countChild: String?

    func validate() throws {
        _ = try selectedRows()
        if let signRounds, !(1...1_000).contains(signRounds) {
            throw ValidationError("--sign-rounds must be 1 to 1000; got \(signRounds)")
        }
    }

    private func selectedRows() throws -> Set<RowName> {
        guard let rows else { return Set(RowName.allCases) }
        var selected = Set<RowName>()
        for name in rows.split(separator: ",").map({ $0.trimmingSpaces }) where !name.isEmpty {
            guard let row = RowName(rawValue: name) else {
                throw ValidationError(
                    "unknown row \"\(name)\"; rows are \(RowName.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            selected.insert(row)
        }
        if selected.isEmpty { throw ValidationError("--rows names no row") }
        if instructions && selected.isDisjoint(with: [.sign1, .sign64]) {
            throw ValidationError("--instructions adds to a sign row; --rows names neither sign-1 nor sign-64")
        }
        return selected
    }

    func run() async throws {
        if let countChild {
            let workspace = try Workspace(parent: tempDirectory)
            defer { workspace.remove() }
            try await InstructionCounts.child(countChild, workspace: workspace)
            return
        }
        let selected = try selectedRows()
        let machine = Machine.current()
        var scale = Scale(quick: quick)
        scale.signRoundsOverride = signRounds
        let header = machine.lines + ["mode:    \(quick ? "--quick" : "default") (\(scale.summary))"]
        if json {
            header.forEach(log)
        } else {
            header.forEach { print($0) }
            print("")
        }
        let workspace = try Workspace(parent: tempDirectory)
        defer { workspace.remove() }
        let context = BenchContext(scale: scale, workspace: workspace)
        context.maxGroupWait = maxGroupWaitMicroseconds.map { .microseconds(max(0, $0)) }

        var results: [RowName: Row] = [:]
        func record(_ rows: [Row]) {
            for row in rows {
                results[row.name] = row
                let ratio = row.ratio.map { " ratio \(fixed($0, decimals: 2))x" } ?? ""
                log("\(row.name.rawValue): \(row.value.map(pretty) ?? "n/a") \(row.unit)\(ratio)")
            }
        }

        let started = ContinuousClock.now
        if selected.contains(.sign1) || selected.contains(.sign64) {
            var signRows = try await SignRows.run(selected, context)
            if instructions, !signRows.isEmpty {
                log("instructions: counting under callgrind")
                let counts = try InstructionCounts.measure(context)
                signRows[0].extra += counts.extra
                signRows[0].notes.append(counts.note)
            }
            record(signRows)
        }
        if selected.contains(.read) {
            record([try await ReadRow.run(context)])
        }
        if selected.contains(.certsGather) {
            record([try await GatherRow.run(context)])
        }
        if !selected.isDisjoint(with: [.gcSmall, .gcLarge, .open1m]) {
            record(try await GarbageRows.run(selected, context))
        }
        if !selected.isDisjoint(with: [.certVerify1, .certVerifyAll, .certVerifyCached]) {
            record(try await VerifyRows.run(selected, context))
        }
        if selected.contains(.nodeInProcess) {
            record([try await NodeRow.run(context)])
        }
        if !selected.isDisjoint(with: [.devnet, .devnetPlaintext, .devnetEtcd]) {
            record(try await DevnetRow.run(selected, context))
        }
        let byzantine = RowName.allCases.filter { $0.byzantineBehaviour != nil && selected.contains($0) }
        if !byzantine.isEmpty {
            record(try await ByzantineRows.run(byzantine, context))
        }
        log("total: \(pretty(started.duration(to: .now).seconds)) s")

        let ordered = RowName.allCases.compactMap { results[$0] }
        if json {
            print(jsonRows(ordered))
        } else {
            markdownTable(ordered).forEach { print($0) }
        }
    }
}

/// What every row group gets: the sizes to use and where to put stores.
final class BenchContext {
    let scale: Scale
    let workspace: Workspace
    /// The sign rows' `StoreConfiguration.maxGroupWait`; nil keeps the store's default.
    var maxGroupWait: Duration?
    /// Certificates with real signatures, made once for the certificate rows.
    private var certificatePool: CertificatePool?

    init(scale: Scale, workspace: Workspace) {
        self.scale = scale
        self.workspace = workspace
    }

    func certificates() async throws -> CertificatePool {
        if let certificatePool { return certificatePool }
        let pool = try await CertificatePool.make(count: scale.certificatePool)
        certificatePool = pool
        return pool
    }
}

/// The sizes of one run. `--quick` keeps every row well under 10 s.
struct Scale {
    let quick: Bool

    /// Alternating rounds of store and baseline; each side's figure is the
    /// median over its rounds.
    var rounds: Int { quick ? 1 : 3 }
    /// `--sign-rounds`: the sign rows' rounds, when given.
    var signRoundsOverride: Int?
    /// The sign rows' rounds: `rounds` unless `--sign-rounds` says otherwise.
    var signRounds: Int { max(1, signRoundsOverride ?? rounds) }

    /// sign-1: synced persist-and-sign calls per round.
    var signOne: Int { quick ? 40 : 150 }
    /// sign-64: calls per round (a multiple of 64).
    var signMany: Int { quick ? 64 * 6 : 64 * 24 }

    /// read: 16 KiB chunks in the store, and gets per round.
    var readChunks: Int { quick ? 1_024 : 4_096 }
    var readGets: Int { quick ? 20_000 : 100_000 }

    /// certs-gather: gathers per round (each of 1,000 certificates).
    var gathers: Int { quick ? 10 : 40 }
    /// Certificates made with real signatures: 1,000 valid plus 100 expired
    /// ones for the gather; the verify rows use them too.
    var certificatePool: Int { 1_100 }

    /// gc-small / gc-large: expired chunks collected, and the large store's size.
    var gcExpired: Int { quick ? 1_000 : 10_000 }
    var gcLargeStore: Int { quick ? 40_000 : 1_000_000 }
    /// The number of producers (validators) whose chunks fill the stores.
    var gcProducers: Int { 100 }
    /// open-1m: alternating opens of the store and raw LMDB.
    var openRounds: Int { quick ? 3 : 5 }

    /// cert-verify rows: certificates verified per round, one thread and all cores.
    var verifyOne: Int { quick ? 40 : 200 }
    var verifyAll: Int { quick ? 80 : 400 }

    var summary: String {
        "sign-1 \(signOne)/round, sign-64 \(signMany)/round, \(rounds) round(s); gc \(gcExpired) in \(gcExpired) and in \(gcLargeStore)"
    }
}
