@testable import ChunkStore
@testable import StoreMaintenance
import DSMR
import DSMRTestSupport
import Foundation
@testable import LMDB
import Testing

/// LMDB's failures reach the store's callers as `ChunkStoreError` with a
/// code that says what happened, LMDB's words and the store's path in the
/// message.
@Suite("LMDB's errors come out as the store's")
struct SealedErrorTests {
    static func error(_ body: () async throws -> some Any) async -> (any Error)? {
        do {
            _ = try await body()
            return nil
        } catch {
            return error
        }
    }

    @Test func aFailedCommitIsIoThenWritesAreRefusedAsWriterFailedUntilReopened() async throws {
        try await withTemporaryDirectory("sealed-commit") { path in
            let configuration = Fixture.configuration(path, rules: GarbageCollectionTests.roomyRules)
            let store = try ChunkStore(configuration)
            store.environment.faults.arm(.commit, failingCall: 1, with: .ioError)
            let first = Fixture.chunk(Fixture.producers[0], slot: 1)
            let failed = await Self.error {
                try await store.persistAndSign(first, validators: Fixture.validators, now: .milliseconds(0))
            }
            let io = try #require(failed as? ChunkStoreError, "got \(String(describing: failed))")
            #expect(io.code == .io)
            #expect(io.message.contains(path) && io.message.contains("injected commit fault"), "\(io)")
            #expect(io.message.contains("reopen"), "\(io)")

            let second = Fixture.chunk(Fixture.producers[1], slot: 1)
            let refused = await Self.error {
                try await store.persistAndSign(second, validators: Fixture.validators, now: .milliseconds(0))
            }
            let closedWriter = try #require(refused as? ChunkStoreError, "got \(String(describing: refused))")
            #expect(closedWriter.code == .writerFailed)
            #expect(closedWriter.message.contains("injected commit fault"), "names the first failure: \(closedWriter)")
            #expect(closedWriter.message.contains("reopen") && closedWriter.message.contains(path), "\(closedWriter)")
            // Reads go on.
            #expect(try store.chunk(first.id) == nil)
            store.close()

            let reopened = try ChunkStore(configuration)
            defer { reopened.close() }
            _ = try await reopened.persistAndSign(second, validators: Fixture.validators, now: .milliseconds(0))
        }
    }

    @Test func aFailedSyncOfACommitIsIo() async throws {
        try await withTemporaryDirectory("sealed-sync") { path in
            let store = try ChunkStore(Fixture.configuration(path, rules: GarbageCollectionTests.roomyRules))
            defer { store.close() }
            store.environment.faults.arm(.sync, failingCall: 1, with: .noSpace)
            let failed = await Self.error {
                try await store.persistAndSign(
                    Fixture.chunk(Fixture.producers[0], slot: 1), validators: Fixture.validators, now: .milliseconds(0))
            }
            #expect((failed as? ChunkStoreError)?.code == .io, "got \(String(describing: failed))")
        }
    }

    @Test func signingIntoAMapAtItsCeilingIsStoreFull() async throws {
        var rules = GarbageCollectionTests.roomyRules
        rules.maxChunkBytes = 64 << 10
        try await withTemporaryDirectory("sealed-full") { path in
            var configuration = Fixture.configuration(path, rules: rules, durability: .noSync)
            configuration.mapSize = 1 << 20
            configuration.maxMapSize = 1 << 20
            let store = try ChunkStore(configuration)
            defer { store.close() }
            var failure: (any Error)?
            var signed = 0
            for slot in UInt64(1)..<200 where failure == nil {
                let chunk = Fixture.chunk(Fixture.producers[Int(slot) % 3], slot: slot, size: 32 << 10, tag: slot)
                failure = await Self.error {
                    try await store.persistAndSign(chunk, validators: Fixture.validators, now: .milliseconds(0))
                }
                if failure == nil { signed += 1 }
            }
            let full = try #require(failure as? ChunkStoreError, "got \(String(describing: failure))")
            #expect(full.code == .storeFull, "\(full)")
            #expect(full.message.contains(path) && full.message.contains("maxMapSize"), "\(full)")
            #expect(signed > 0)
            // Nothing failed closed: reads and the check go on.
            #expect(try store.check().isClean)
        }
    }

    @Test func maintenanceOfAClosedStoreIsClosed() async throws {
        try await withTemporaryDirectory("sealed-closed") { path in
            let store = try ChunkStore(Fixture.configuration(path + "/store", rules: GarbageCollectionTests.roomyRules))
            store.close()
            let failures: [(String, (any Error)?)] = [
                ("storageInfo", await Self.error { try store.storageInfo() }),
                ("sync", await Self.error { try store.sync() }),
                ("compact", await Self.error { try store.compact(to: path + "/copy") }),
                ("statistics", await Self.error { try store.statistics() }),
            ]
            for (operation, failure) in failures {
                #expect((failure as? ChunkStoreError)?.code == .closed, "\(operation): \(String(describing: failure))")
            }
        }
    }

    @Test func openingAStoreThisProcessHasOpenIsLocked() async throws {
        try await withTemporaryDirectory("sealed-open") { path in
            let configuration = Fixture.configuration(path, rules: GarbageCollectionTests.roomyRules)
            let store = try ChunkStore(configuration)
            defer { store.close() }
            var readOnly = configuration
            readOnly.readOnly = true
            let failure = await Self.error { try ChunkStore(readOnly) }
            #expect((failure as? ChunkStoreError)?.code == .locked, "got \(String(describing: failure))")
        }
    }
}
