import ChunkStore
import StoreMaintenance
import DSMR
import DSMRTestSupport
import Testing

@Suite("Executed heights and their state roots")
struct ExecutedStateRootTests {
    static func root(_ n: UInt8) -> StateRoot { try! StateRoot(bytes: [UInt8](repeating: n, count: 32)) }

    @Test func executedHeightsKeepTheirRootsInOrderAcrossReopening() async throws {
        try await withTemporaryDirectory("roots") { path in
            let blocks = [
                Fixture.block(height: 0, timestamp: 1_000)
            ]
            var chain = blocks
            for height in 1...2 {
                chain.append(
                    Fixture.block(parent: chain.last!.id, height: UInt64(height), timestamp: 1_000 + Int64(height)))
            }
            do {
                let store = try ChunkStore(Fixture.configuration(path))
                for block in chain { try await store.recordAccepted(block) }
                try await store.markExecuted(height: 0, stateRoot: Self.root(1))
                // Heights are executed one after another.
                #expect(
                    await errorCode { try await store.markExecuted(height: 2, stateRoot: Self.root(3)) }
                        == .blockOutOfOrder)
                try await store.markExecuted(height: 1, stateRoot: Self.root(2))
                // Again with the same root: nothing to do; with another: refused.
                try await store.markExecuted(height: 1, stateRoot: Self.root(2))
                #expect(
                    await errorCode { try await store.markExecuted(height: 1, stateRoot: Self.root(9)) }
                        == .corruptRecord)
                #expect(
                    await errorCode { try await store.markExecuted(height: 3, stateRoot: Self.root(4)) }
                        == .blockOutOfOrder)
                store.close()
            }
            let store = try ChunkStore(Fixture.configuration(path))
            defer { store.close() }
            #expect(try store.executedTip() == 1)
            #expect(try store.stateRoot(at: 0) == Self.root(1))
            #expect(try store.stateRoot(at: 1) == Self.root(2))
            #expect(try store.stateRoot(at: 2) == nil)
            #expect(try store.stateRoot(at: 7) == nil)
            #expect(try store.block(at: 1) == chain[1])
            #expect(try store.check().isClean)
        }
    }
}
