import ChunkStore
import StoreMaintenance
import DSMR
import DSMRTestSupport
import Foundation
import LMDB
import Testing

/// `dsmr-store` run as operators run it: a real process on a real store.
@Suite struct StoreToolTests {
    struct Run {
        let status: Int32
        let output: String
        let error: String
    }

    /// Runs the `dsmr-store` binary built next to the test bundle.
    static func run(_ arguments: [String]) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try builtExecutable("dsmr-store"))
        process.arguments = arguments
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(
            status: process.terminationStatus, output: String(decoding: out, as: UTF8.self),
            error: String(decoding: err, as: UTF8.self))
    }

    @Test func checkExitsZeroOnACleanStoreAndTwoOnADamagedOne() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        let chunks = try await MaintenanceTestbed.fill(store)
        store.close()

        let clean = try Self.run(["check", "-s", bed.path("a")])
        #expect(clean.status == 0, "\(clean.error)")
        #expect(clean.output.contains("OK"))

        try bed.withRawEnvironment("a") { env in
            let byExpiry = try env.database("by_expiry")
            try env.write { txn in try txn.clear(byExpiry) }
        }
        let damaged = try Self.run(["check", "-s", bed.path("a"), "--json"])
        #expect(damaged.status == 2)
        let report = try JSONDecoder().decode(CheckReport.self, from: Data(damaged.output.utf8))
        #expect(report.problemCount == chunks.count)
        #expect(report.problems.allSatisfy { $0.kind == .missingIndexRow })

        let recovered = try Self.run(["recover", "-s", bed.path("a")])
        #expect(recovered.status == 0, "\(recovered.error)")
        #expect(try Self.run(["check", "-s", bed.path("a")]).status == 0)
    }

    @Test func readOnlyCommandsWorkBesideTheWriterAndMutatingOnesNameTheHolder() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        let chunks = try await MaintenanceTestbed.fill(store)

        let stats = try Self.run(["stats", "-s", bed.path("a"), "--json"])
        #expect(stats.status == 0, "\(stats.error)")
        let decoded = try JSONDecoder().decode(StoreStatistics.self, from: Data(stats.output.utf8))
        #expect(decoded.pending.chunks + decoded.accepted.chunks == chunks.count)
        #expect(decoded.accepted.chunks == 1)

        let listed = try Self.run(["ls", "-s", bed.path("a"), "--status", "pending", "--limit", "5"])
        #expect(listed.status == 0)
        #expect(listed.output.contains("5 chunks"))

        let shown = try Self.run(["show", "-s", bed.path("a"), chunks[0].id.hex])
        #expect(shown.status == 0)
        #expect(shown.output.contains("accepted"))

        let refused = try Self.run(["gc", "-s", bed.path("a")])
        #expect(refused.status == 1)
        #expect(refused.error.contains("held by another writer (pid \(getpid())"), "\(refused.error)")
        store.close()

        // Every chunk expires by 20 s; the accepted one is kept for the retention (60 s).
        let collected = try Self.run(["gc", "-s", bed.path("a"), "--watermark", "20000", "--json"])
        #expect(collected.status == 0, "\(collected.error)")
        let garbage = try JSONDecoder().decode(GarbageReport.self, from: Data(collected.output.utf8))
        #expect(garbage.chunksRemoved == chunks.count - 1)
    }

    @Test func evidenceListsEachConflictWithBothSignedChunks() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        let first = MaintenanceTestbed.chunk(producer: 2, slot: 5, payload: 1)
        let second = MaintenanceTestbed.chunk(producer: 2, slot: 5, payload: 2)
        _ = try await store.persistAndSign(first, validators: MaintenanceTestbed.validators, now: .milliseconds(5_000))
        await #expect {
            _ = try await store.persistAndSign(
                second, validators: MaintenanceTestbed.validators, now: .milliseconds(5_000))
        } throws: { ChunkStoreError.Code.conflictingChunk ~= $0 }
        store.close()

        struct Line: Decodable {
            let producer: String
            let slot: UInt64
            let signedChunk: String?
            let conflictingChunk: String
        }
        let run = try Self.run(["evidence", "-s", bed.path("a"), "--json"])
        #expect(run.status == 0, "\(run.error)")
        let lines = try JSONDecoder().decode([Line].self, from: Data(run.output.utf8))
        try #require(lines.count == 1)
        #expect(lines[0].producer == first.producer.hex && lines[0].slot == 5)
        let signedHex = try #require(lines[0].signedChunk)
        let signedBytes = try #require(Hex.decode(signedHex))
        let conflictingBytes = try #require(Hex.decode(lines[0].conflictingChunk))
        let signed = try Chunk(decoding: signedBytes)
        let conflicting = try Chunk(decoding: conflictingBytes)
        #expect(signed == first && conflicting == second)
        let key = MaintenanceTestbed.signers[2].publicKey
        #expect(signed.verifySignature(publicKey: key, domain: MaintenanceTestbed.domain))
        #expect(conflicting.verifySignature(publicKey: key, domain: MaintenanceTestbed.domain))
    }

    @Test func usageErrorsExitOneWithAMessage() throws {
        let missing = try Self.run(["stats", "-s", "/nonexistent/store"])
        #expect(missing.status == 1)
        #expect(missing.error.contains("not a chunk store"))
        let badStatus = try Self.run(["ls", "-s", "/tmp", "--status", "lost"])
        #expect(badStatus.status == 1)
        #expect(badStatus.error.contains("--status"))
    }
}
