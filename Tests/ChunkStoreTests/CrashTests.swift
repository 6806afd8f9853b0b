import ChunkStore
import StoreMaintenance
import DSMR
import DSMRTestSupport
import Foundation
import Testing

/// The child's identity and keys; must match Tools/chunkstore-crash-child.
enum CrashFixture: FixtureSigners {
    static let node = signer(9)
    static let producers = (1...4).map { signer(UInt8($0)) }
    static let chainID = try! ChainID(bytes: [UInt8](repeating: 7, count: 32))
}

/// A violated invariant found after a kill.
struct CrashCheckFailure: Error, CustomStringConvertible {
    let description: String
}

@Suite("Crash safety with a killed child process")
struct CrashTests {
    static var kills: Int {
        ProcessInfo.processInfo.environment["DSMR_CRASH_KILLS"].flatMap { Int($0) } ?? 40
    }

    @Test func acknowledgedSharesAndSigningHistorySurviveSigkill() async throws {
        let child = try crashChildPath()
        let kills = Self.kills
        try await withTemporaryDirectory("crash") { path in
            let outcome = try await onDedicatedThread {
                var campaign = CrashCampaign(path: path, child: child, seed: 0x5EED)
                try campaign.run(kills: kills)
                return campaign.outcome
            }
            print("crash campaign: \(outcome)")
            #expect(outcome.kills == kills)
            #expect(outcome.acknowledged >= kills, "the children acknowledged too little: \(outcome)")
            #expect(outcome.checkedRuns >= kills - 1, "\(outcome)")
        }
    }

    @Test func secondWriterProcessIsRefusedNamingTheHolderWhileReadersWork() async throws {
        let child = try crashChildPath()
        try await withTemporaryDirectory("lock") { path in
            let store = try ChunkStore(Fixture.configuration(path))
            defer { store.close() }
            let (writer, reader) = try await onDedicatedThread {
                let writer = try ChildProcess(child, ["probe", path])
                let writerLines = try writer.readRemainingLines()
                let writerStatus = writer.wait().status
                let reader = try ChildProcess(child, ["probe-read", path])
                let readerLines = try reader.readRemainingLines()
                return ((writerLines, writerStatus), (readerLines, reader.wait().status))
            }
            #expect(writer.1 == 2, "the second writer was not refused: \(writer.0)")
            let message = writer.0.joined(separator: "\n")
            #expect(message.contains("locked"), "\(message)")
            #expect(message.contains("pid \(getpid())"), "the refusal names the holder: \(message)")
            #expect(reader.1 == 0, "a read-only open beside the writer failed: \(reader.0)")
            #expect(reader.0 == ["opened watermark 0"])
        }
    }
}

/// Starts children on one store, kills each with SIGKILL at a random moment
/// and checks the store after every kill.
struct CrashCampaign {
    struct Outcome: Sendable, CustomStringConvertible {
        var kills = 0
        var acknowledged = 0
        var checkedRuns = 0
        var blocks: UInt64 = 0
        var collectedUpTo: Int64 = 0
        var description: String {
            "\(kills) kills, \(acknowledged) shares acknowledged, \(checkedRuns) checks, \(blocks) blocks, watermark \(collectedUpTo)"
        }
    }

    let path: String
    let child: String
    var random: SeededGenerator
    var outcome = Outcome()
    /// Every acknowledged share: (producer, slot) -> chunk id.
    var acknowledged: [ProducerNumber: ChunkID] = [:]
    var highestSlot: UInt64 = 100
    var opened = false

    init(path: String, child: String, seed: UInt64) {
        self.path = path
        self.child = child
        random = SeededGenerator(seed: seed)
    }

    func failure(_ run: Int, _ message: String) -> CrashCheckFailure {
        CrashCheckFailure(description: "run \(run): \(message)")
    }

    mutating func run(kills: Int) throws {
        for run in 0..<kills {
            let process = try ChildProcess(child, ["run", path, "\(run + 1)", "\(highestSlot)"])
            var lines: [String] = []
            if opened && Int.random(in: 0..<4, using: &random) == 0 {
                // Whatever the child is doing: opening, signing, committing.
                usleep(UInt32.random(in: 0...80_000, using: &random))
            } else {
                let target = Int.random(in: 1...15, using: &random)
                var acks = 0
                while acks < target, let line = try process.readLine(timeout: 20) {
                    lines.append(line)
                    if line.hasPrefix("ack ") { acks += 1 }
                }
            }
            process.killHard()
            lines += try process.readRemainingLines()
            let (status, signal) = process.wait()
            guard signal == SIGKILL else {
                throw failure(
                    run, "the child ended by itself (status \(String(describing: status))): \(lines.suffix(3))")
            }
            outcome.kills += 1
            try parse(lines, run: run)
            if opened {
                try check(run: run)
                outcome.checkedRuns += 1
            }
        }
        // A read-only open works on the closed store.
        let reader = try ChunkStore(adopting: path, readOnly: true)
        defer { reader.close() }
        outcome.collectedUpTo = try reader.watermark()
    }

    mutating func parse(_ lines: [String], run: Int) throws {
        for line in lines {
            let fields = line.split(separator: " ").map(String.init)
            switch fields.first {
            case "open":
                opened = true
            case "ack" where fields.count == 4:
                let id = try ChunkID(hex: fields[1])
                guard let slot = UInt64(fields[3]) else { throw failure(run, "bad line \(line)") }
                let key = ProducerNumber(producer: try NodeID(hex: fields[2]), number: slot)
                if let earlier = acknowledged.updateValue(id, forKey: key), earlier != id {
                    throw failure(run, "two chunks acknowledged for \(key): \(earlier) and \(id)")
                }
                highestSlot = max(highestSlot, slot)
                outcome.acknowledged += 1
            case "block" where fields.count == 3:
                outcome.blocks = max(outcome.blocks, UInt64(fields[1]) ?? 0)
                highestSlot = max(highestSlot, UInt64(fields[2]) ?? 0)
            default:
                throw failure(run, "unexpected output: \(line)")
            }
        }
    }

    /// Reopens the store as a writer and checks every invariant.
    func check(run: Int) throws {
        let store = try ChunkStore(adopting: path, readOnly: false)
        defer { store.close() }
        let rules = store.configuration.rules
        let watermark = try store.watermark()
        let liveSlot =
            watermark < rules.chunkLifetime
            ? 0 : UInt64((watermark - rules.chunkLifetime) / rules.slotDuration) + 1
        let lastSlot = highestSlot + rules.maxFutureSlots + 2

        let report = try store.check()
        guard report.isClean else {
            throw failure(run, "check() after the kill: \(report.problems.prefix(5))")
        }

        // Every acknowledged chunk that has not expired is stored and signed.
        for (key, id) in acknowledged where rules.expiry(ofSlot: key.number) > watermark {
            guard let stored = try store.chunk(id) else {
                throw failure(run, "acknowledged chunk \(id) of \(key) is not stored (watermark \(watermark))")
            }
            guard stored.chunk.id == id, stored.chunk.producer == key.producer, stored.chunk.slot == key.number else {
                throw failure(run, "chunk \(id) reads back as another chunk")
            }
            guard try store.signedChunk(producer: key.producer, slot: Slot(key.number)) == id else {
                throw failure(run, "the signed row of \(key) does not name acknowledged chunk \(id)")
            }
        }

        for producer in CrashFixture.producers.map(\.nodeID) {
            let stored = try store.chunks(producer: producer, slots: Slot(liveSlot)...Slot.max)
            let bySlot = Dictionary(grouping: stored, by: \.slot)
            // At most one chunk per slot, and it is the signed one.
            for (slot, chunks) in bySlot {
                guard chunks.count == 1 else {
                    throw failure(run, "\(chunks.count) chunks stored for \(producer) slot \(slot)")
                }
                guard try store.signedChunk(producer: producer, slot: Slot(slot)) == chunks[0].id else {
                    throw failure(run, "stored chunk \(chunks[0].id) of slot \(slot) is not the signed one")
                }
            }
            // Every signed row points at a stored chunk.
            for slot in liveSlot...lastSlot {
                if let signed = try store.signedChunk(producer: producer, slot: Slot(slot)), bySlot[slot] == nil {
                    throw failure(run, "\(producer) slot \(slot) is signed for \(signed), which is not stored")
                }
            }
            // Ledgers equal the stored chunks' units in windows nothing was collected from.
            let window = rules.rateLimitWindow
            let firstWindow = (liveSlot + window - 1) / window
            for index in firstWindow...(lastSlot / window) {
                var expected = Dimensions.zero
                for chunk in stored where rules.window(ofSlot: chunk.slot) == index && chunk.origin != .fetched {
                    expected = try expected.adding(chunk.units)
                }
                let usage = try store.ledgerUsage(producer: producer, window: index)
                guard usage == expected else {
                    throw failure(
                        run, "ledger of \(producer) window \(index) is \(usage); its stored chunks use \(expected)")
                }
            }
        }
        let tip = try store.acceptedTip()?.height ?? 0
        guard tip >= outcome.blocks else {
            throw failure(run, "accepted tip \(tip) is below reported block \(outcome.blocks)")
        }
    }
}
