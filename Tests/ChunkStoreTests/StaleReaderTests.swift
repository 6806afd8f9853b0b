@testable import ChunkStore
import DSMR
import DSMRTestSupport
import Foundation
import LMDB
import Testing

@Suite("A killed reader process while the store writes")
struct StoreStaleReaderTests {
    /// A reader process (as `dsmr-store dump` would be) holds a snapshot of a
    /// live store and is killed with SIGKILL. The store keeps signing and,
    /// without being reopened, clears the dead process's reader slot.
    @Test func killedReaderProcessSlotIsClearedWhileTheStoreKeepsSigning() async throws {
        let childPath = try builtExecutable("lmdb-reader-child")
        try await withTemporaryDirectory("stale-reader") { path in
            let rules = GarbageCollectionTests.roomyRules
            let store = try ChunkStore(Fixture.configuration(path, rules: rules, durability: .noSync))
            defer { store.close() }
            _ = try await store.persistAndSign(
                Fixture.chunk(Fixture.producers[0], slot: 1), validators: Fixture.validators, now: .milliseconds(0))
            let child = try ChildProcess(childPath, [path])
            #expect(try child.readLine(timeout: 20) == "ready")
            let pid = child.pid
            #expect(try store.environment.readers().contains { $0.processID == pid && $0.transactionID != nil })
            child.killHard()
            #expect(child.wait().signal == SIGKILL)

            var slot: UInt64 = 2
            let deadline = Date().addingTimeInterval(10)
            while try store.environment.readers().contains(where: { $0.processID == pid }), Date() < deadline {
                let chunk = Fixture.chunk(Fixture.producers[Int(slot) % 3], slot: slot)
                _ = try await store.persistAndSign(chunk, validators: Fixture.validators, now: .milliseconds(0))
                slot += 1
            }
            #expect(
                try !store.environment.readers().contains { $0.processID == pid },
                "the killed reader's slot is still held after \(slot - 2) signatures")
            #expect(store.environment.staleReadersClearedSinceOpen == 1)
        }
    }
}
