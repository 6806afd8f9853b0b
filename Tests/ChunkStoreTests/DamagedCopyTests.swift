import ChunkStore
import DSMR
import DSMRTestSupport
import Foundation
import Testing

/// Damaged copies of a real store, run through the built `dsmr-store`: no
/// command dies by a signal or hangs, and `check` says OK only when the copy
/// still holds exactly what the original held (`mdb_dump -a` is equal).
///
/// `DSMR_DAMAGE_COPIES` sets how many copies (default 16: every fixed kind of
/// damage once, the rest drawn from `DSMR_DAMAGE_SEED`).
@Suite struct DamagedCopyTests {
    static let environment = ProcessInfo.processInfo.environment
    static let copies = environment["DSMR_DAMAGE_COPIES"].flatMap(Int.init) ?? 16
    static let seed = environment["DSMR_DAMAGE_SEED"].flatMap(UInt64.init) ?? 0x0D5A_2026
    /// How long a command may run before the test calls it hung (the tool's
    /// own watchdog is set well below this).
    static let deadline: Double = 60
    static let watchdogSeconds = "10"

    @Test func noCommandDiesOrHangsAndCheckPassesOnlyUnchangedCopies() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("original")
        try await Self.writeWorkload(store)
        store.close()
        let original = bed.path("original")
        let reference = try #require(ToolRun.mdbDump(original), "mdb_dump of the undamaged store failed")
        let map = try PageMap(dataFile: original + "/data.mdb")
        #expect(map.pages["branch"] != nil, "the workload is too small to have branch pages")

        var tally = DamageTally()
        for (index, damage) in Self.damages(map, count: Self.copies, seed: Self.seed).enumerated() {
            let copy = bed.path("copy-\(index)")
            try FileManager.default.copyItem(atPath: original, toPath: copy)
            try damage.apply(to: copy, pageSize: map.pageSize)
            let dump = ToolRun.mdbDump(copy)
            let changedTables = DumpSections.differing(reference, dump)
            let unchanged = changedTables.isEmpty
            let commands: [[String]] = [
                ["check", "-s", copy], ["check", "-s", copy, "--json"], ["stats", "-s", copy, "--json"],
                ["ls", "-s", copy, "--status", "accepted"], ["evidence", "-s", copy],
                ["dump", "-s", copy, "-o", bed.path("dump-\(index)")],
            ]
            for arguments in commands {
                let run = try ToolRun.dsmrStore(
                    arguments, environment: ["DSMR_STORE_WATCHDOG_SECONDS": Self.watchdogSeconds],
                    deadline: Self.deadline)
                tally.record(
                    run, command: arguments, damage: damage, unchanged: unchanged, changedTables: changedTables)
            }
            try? FileManager.default.removeItem(atPath: copy)
        }
        print(tally.summary(copies: Self.copies, seed: Self.seed))
        #expect(tally.failures.isEmpty, "\(tally.failures.count) failures:\n\(tally.failures.joined(separator: "\n"))")
    }

    /// The fixed kinds of damage first, then random ones from `seed`.
    static func damages(_ map: PageMap, count: Int, seed: UInt64) -> [StoreDamage] {
        let size = map.pageSize * map.pageCount
        var generator = SeededGenerator(seed: seed)
        var list: [StoreDamage] = [
            .zeroPage(page: 0, kind: "meta"), .zeroPage(page: 1, kind: "meta"),
            .randomPage(page: 1, kind: "meta", seed: generator.next()),
            .zeroPage(page: map.pages["branch"]?.first ?? 2, kind: "branch"),
            .truncate(length: size / 2), .truncate(length: 8_192), .truncate(length: 0),
            .extend(length: 1 << 20, seed: generator.next()), .garbageLock(seed: generator.next()), .notLMDB,
            .missingDirectory,
        ]
        let kinds = ["meta", "branch", "leaf", "overflow"]
        while list.count < count {
            let pick = Int(generator.next() % 8)
            let kind = kinds[Int(generator.next() % UInt64(kinds.count))]
            let candidates = map.pages[kind] ?? []
            let page =
                candidates.isEmpty || generator.next() % 4 == 0
                ? Int(generator.next() % UInt64(map.pageCount))
                : candidates[Int(generator.next() % UInt64(candidates.count))]
            switch pick {
            case 0..<4:
                let offset = Int(generator.next() % UInt64(size))
                list.append(.flipByte(offset: offset, mask: UInt8(generator.next() % 255) + 1))
            case 4..<6:
                list.append(.randomPage(page: page, kind: kind, seed: generator.next()))
            case 6:
                list.append(.zeroPage(page: page, kind: kind))
            default:
                let length = Int(generator.next() % UInt64(size))
                list.append(.truncate(length: length))
            }
        }
        return Array(list.prefix(count))
    }

    /// A signing workload: three producers over twelve slots with chunks of
    /// many sizes (a few spill into overflow pages), conflicts kept as
    /// evidence, certificates for half of the chunks and three accepted
    /// blocks.
    static func writeWorkload(_ store: ChunkStore) async throws {
        typealias Bed = MaintenanceTestbed
        var chunks: [Chunk] = []
        for slot in UInt64(1)...12 {
            for producer in 1...3 {
                let size = slot % 5 == 0 && producer == 2 ? 9_000 : 150 + (Int(slot) * 97 + producer * 31) % 1_400
                let payload = UInt8(slot * 3) &+ UInt8(producer)
                let chunk = Bed.chunk(producer: producer, slot: slot, payload: payload, size: size)
                let now = ChainTime.milliseconds(Int64(slot) * 1_000)
                _ = try await store.persistAndSign(chunk, validators: Bed.validators, now: now)
                chunks.append(chunk)
            }
        }
        for (producer, slot) in [(2, UInt64(3)), (3, UInt64(7)), (1, UInt64(11))] {
            let conflicting = Bed.chunk(producer: producer, slot: slot, payload: 0xEE)
            await #expect(throws: (any Error).self) {
                let now = ChainTime.milliseconds(Int64(slot) * 1_000)
                _ = try await store.persistAndSign(conflicting, validators: Bed.validators, now: now)
            }
        }
        for chunk in chunks.enumerated().filter({ $0.offset % 2 == 0 }).map(\.element) {
            try await store.addCertificate(Bed.certificate(for: chunk))
        }
        var parent = try BlockID(bytes: [UInt8](repeating: 0, count: 32))
        for height in UInt64(1)...3 {
            let included = [chunks[Int(height) * 6], chunks[Int(height) * 6 + 2]]
            let block = Block(
                parent: parent, height: height, timestamp: 1_000 + Int64(height) * 500,
                certificates: included.map { Bed.certificate(for: $0) })
            try await store.recordAccepted(block)
            parent = block.id
        }
    }
}

/// What a campaign saw, and what it must not have seen.
struct DamageTally {
    var runs = 0
    var signals = 0
    var hangs = 0
    var okOnChanged: [String] = []
    var exitCodes: [String: Int] = [:]
    var failures: [String] = []

    mutating func record(
        _ run: ToolRun, command: [String], damage: StoreDamage, unchanged: Bool, changedTables: [String]
    ) {
        runs += 1
        let name = command.first == "check" && command.contains("--json") ? "check --json" : command[0]
        let what = "\(name) on \(damage)"
        if let signal = run.signal {
            signals += 1
            failures.append("\(what): killed by signal \(signal)")
            return
        }
        if run.timedOut {
            hangs += 1
            failures.append("\(what): no exit within the deadline")
            return
        }
        exitCodes["\(name) \(run.status)", default: 0] += 1
        if ![0, 1, 2].contains(run.status) { failures.append("\(what): exit \(run.status)") }
        if name.hasPrefix("check") && run.status == 1 && !unchanged && !damage.removesTheStore {
            failures.append("\(what): exit 1 (unreadable) on damaged files, not 2: \(run.error.prefix(300))")
        }
        if name.hasPrefix("check") && run.status == 0 && !unchanged {
            okOnChanged.append(what)
            failures.append("\(what): OK although mdb_dump differs from the original's in \(changedTables)")
        }
        if name == "check --json" && run.status == 2
            && (try? JSONSerialization.jsonObject(with: Data(run.output.utf8))) == nil
        {
            failures.append("\(what): exit 2 without a JSON report: \(run.output.prefix(200))")
        }
    }

    func summary(copies: Int, seed: UInt64) -> String {
        let codes = exitCodes.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
        return "damaged copies: \(copies) (seed \(seed)), runs \(runs), signals \(signals), hangs \(hangs), "
            + "check OK on a changed copy \(okOnChanged.count); exits \(codes)"
    }
}

/// One run of a child process, bounded by a deadline.
struct ToolRun {
    var status: Int32 = 0
    var signal: Int32?
    var timedOut = false
    var output = ""
    var error = ""

    /// Runs the `dsmr-store` built next to the test bundle.
    static func dsmrStore(
        _ arguments: [String], environment: [String: String] = [:], deadline: Double
    ) throws -> ToolRun {
        try run(try builtExecutable("dsmr-store"), arguments, environment, deadline: deadline)
    }

    /// `mdb_dump -a` of the environment at `path`, or nil when it fails.
    static func mdbDump(_ path: String) -> String? {
        guard let run = try? run("/usr/bin/env", ["mdb_dump", "-a", path], [:], deadline: 60),
            run.signal == nil, !run.timedOut, run.status == 0
        else { return nil }
        return run.output
    }

    /// Runs `executable`, its output collected in files so that nothing
    /// blocks on a full pipe, and kills it once `deadline` seconds pass.
    static func run(
        _ executable: String, _ arguments: [String], _ environment: [String: String], deadline: Double
    ) throws -> ToolRun {
        let scratch = try TemporaryDirectory("dsmr-run")
        defer { scratch.remove() }
        let outPath = URL(fileURLWithPath: scratch.appending("out"))
        let errPath = URL(fileURLWithPath: scratch.appending("err"))
        _ = FileManager.default.createFile(atPath: outPath.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = try FileHandle(forWritingTo: outPath)
        process.standardError = try FileHandle(forWritingTo: errPath)
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        var result = ToolRun()
        if exited.wait(timeout: .now() + deadline) == .timedOut {
            result.timedOut = true
            kill(process.processIdentifier, SIGKILL)
            exited.wait()
        }
        if process.terminationReason == .uncaughtSignal && !result.timedOut {
            result.signal = process.terminationStatus
        } else {
            result.status = process.terminationStatus
        }
        result.output = (try? String(contentsOf: outPath, encoding: .utf8)) ?? ""
        result.error = (try? String(contentsOf: errPath, encoding: .utf8)) ?? ""
        return result
    }
}

/// `mdb_dump -a` output cut into one section per database.
enum DumpSections {
    /// The databases whose dumped contents differ between `original` and
    /// `copy` (every one when the copy could not be dumped). The map size in
    /// the headers is left out: it is a setting, not contents.
    static func differing(_ original: String, _ copy: String?) -> [String] {
        guard let copy else { return ["(mdb_dump failed)"] }
        let before = sections(original)
        let after = sections(copy)
        return Set(before.keys).union(after.keys).sorted().filter { before[$0] != after[$0] }
    }

    static func sections(_ dump: String) -> [String: [Substring]] {
        var result: [String: [Substring]] = [:]
        var name = "(main)"
        var lines: [Substring] = []
        for line in dump.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("database=") { name = String(line.dropFirst("database=".count)) }
            if line.hasPrefix("mapsize=") { continue }
            lines.append(line)
            if line == "DATA=END" {
                result[name] = lines
                name = "(main)"
                lines = []
            }
        }
        return result
    }
}
