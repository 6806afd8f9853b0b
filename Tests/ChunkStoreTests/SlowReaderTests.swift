@testable import ChunkStore
@testable import StoreMaintenance
import DSMR
import DSMRTestSupport
import Dispatch
import Foundation
import Synchronization
import Testing

@Suite("A slow reader while signing needs the map grown")
struct SlowReaderTests {
    /// A `withChunkBytes` body that does not return (a slow reader) while
    /// signing fills a 1 MiB map. As documented: signing requests that need
    /// the map grown fail with `busy` after `maxGrowthWait`
    /// (nothing of them stored, no share), reads by others go on, and once
    /// the slow read ends the same chunks are signed.
    @Test func slowChunkReaderMakesSigningFailWithinTheWaitNotStall() async throws {
        var rules = GarbageCollectionTests.roomyRules
        rules.maxChunkBytes = 64 << 10
        try await withTemporaryDirectory("slow-reader") { path in
            var configuration = Fixture.configuration(path, rules: rules, durability: .noSync)
            configuration.maxGrowthWait = .milliseconds(300)
            let store = try ChunkStore(configuration)
            defer { store.close() }
            let first = Fixture.chunk(Fixture.producers[0], slot: 1, size: 100)
            _ = try await store.persistAndSign(first, validators: Fixture.validators, now: .milliseconds(0))
            let expiry = rules.expiry(ofSlot: 1)

            let release = DispatchSemaphore(value: 0)
            let inside = Atomic<Bool>(false)
            let slowReader = Task.detached {
                try await onDedicatedThread {
                    try store.withChunkBytes(first.id, expiry: expiry) { _ in
                        inside.store(true, ordering: .releasing)
                        // Slow: until the test lets go, at most 60 s.
                        _ = release.wait(timeout: .now() + 60)
                    }
                }
            }
            // Waited for without blocking: this task's thread is one of the few that run every task.
            while !inside.load(ordering: .acquiring) { try await Task.sleep(for: .milliseconds(1)) }

            // Another reader keeps reading meanwhile and records its slowest read.
            let signingDone = Atomic<Bool>(false)
            let otherReader = Task.detached {
                try await onDedicatedThread { () -> (reads: Int, slowest: Double) in
                    var reads = 0
                    var slowest = 0.0
                    repeat {
                        let start = Date()
                        _ = try store.chunkBytes(first.id, expiry: expiry)
                        slowest = max(slowest, Date().timeIntervalSince(start))
                        reads += 1
                    } while !signingDone.load(ordering: .acquiring)
                    return (reads, slowest)
                }
            }

            var signed: [Chunk] = []
            var refused: [Chunk] = []
            var slowestCall = 0.0
            for slot in UInt64(2)..<UInt64(200) where refused.count < 3 {
                let chunk = Fixture.chunk(Fixture.producers[Int(slot) % 3], slot: slot, size: 32 << 10, tag: slot)
                let start = Date()
                do {
                    let share = try await store.persistAndSign(
                        chunk, validators: Fixture.validators, now: .milliseconds(0))
                    #expect(share.reference.chunkID == chunk.id)
                    signed.append(chunk)
                } catch ChunkStoreError.Code.busy {
                    refused.append(chunk)
                }
                slowestCall = max(slowestCall, Date().timeIntervalSince(start))
            }
            signingDone.store(true, ordering: .releasing)
            release.signal()
            try await slowReader.value
            let other = try await otherReader.value

            #expect(refused.count == 3, "signing never failed with busy (\(signed.count) signed)")
            // The slow reader holds on for up to 60 s and is let go only after
            // the loop: a call that waited for it would take that long. The
            // bound is far above maxGrowthWait so a loaded machine cannot reach it.
            #expect(slowestCall < 30, "a signing call waited \(slowestCall) s for the slow reader")
            #expect(other.reads > 0)
            #expect(other.slowest < 30, "a read waited \(other.slowest) s")
            for chunk in refused {
                #expect(try store.chunk(chunk.id) == nil, "a refused chunk was stored")
                #expect(try store.signedChunk(producer: chunk.producer, slot: Slot(chunk.slot)) == nil)
            }
            // The slow read is over: the map grows and the refused chunks are signed.
            for chunk in refused {
                _ = try await store.persistAndSign(chunk, validators: Fixture.validators, now: .milliseconds(0))
            }
            for chunk in signed + refused { #expect(try store.chunk(chunk.id)?.chunk == chunk) }
            #expect(try store.check().isClean)
        }
    }
}
