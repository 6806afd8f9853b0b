import ChunkStore
import StoreMaintenance
import DSMR
import DSMRTestSupport
import Testing

/// Certificates of accepted chunks live as long as the chunks; blocks are
/// kept for a configured retention, never the accepted tip.
@Suite struct RetentionTests {
    @Test func anAcceptedChunksCertificateIsKeptAsLongAsTheChunk() async throws {
        try await withTemporaryDirectory { path in
            let configuration = Fixture.configuration(path)
            let store = try ChunkStore(configuration)
            defer { store.close() }
            let chunk = Fixture.chunk(Fixture.producers[0], slot: 10)
            let waiting = Fixture.chunk(Fixture.producers[1], slot: 10)
            _ = try await store.persistAndSign(chunk, validators: Fixture.validators, now: .milliseconds(10_000))
            try await store.addCertificate(Fixture.certificate(waiting))
            let reference = Fixture.reference(chunk)
            try await store.recordAccepted(Fixture.block(height: 1, timestamp: 10_500, certifying: [chunk]))

            let atExpiry = try await store.collectGarbage(upTo: .milliseconds(reference.expiry))
            #expect(atExpiry.certificates == 1, "the pending certificate expires with its chunk")
            #expect(try store.chunk(reference) != nil)
            #expect(try store.certificate(for: reference) == Fixture.certificate(chunk))
            // Nothing expired since: the kept certificate is not walked again.
            #expect(try await store.collectGarbage(upTo: .milliseconds(reference.expiry + 1)).rowsVisited == 0)

            let afterRetention = try await store.collectGarbage(
                upTo: .milliseconds(reference.expiry + configuration.acceptedRetention))
            #expect(afterRetention.expiredAccepted == 1 && afterRetention.certificates == 1)
            #expect(try store.chunk(reference) == nil)
            #expect(try store.certificate(for: reference) == nil)
            #expect(try store.check().isClean)
        }
    }

    @Test func blocksAreKeptForTheirRetentionAndTheTipAndUnexecutedOnesAlways() async throws {
        try await withTemporaryDirectory { path in
            // Blocks are kept for the validity window (5 s here; longer than the
            // 3 s accepted retention), and the newest older one as its parent.
            let store = try ChunkStore(Fixture.configuration(path + "/a"))
            var blocks: [Block] = []
            for height in UInt64(1)...5 {
                let block = Fixture.block(
                    parent: blocks.last?.id ?? .zero, height: height, timestamp: Int64(height) * 3_000)
                let report = try await store.recordAccepted(block)
                #expect(report.garbage.blocks == (height >= 4 ? 1 : 0), "height \(height)")
                try await store.markExecuted(height: height)
                blocks.append(block)
            }
            #expect(try store.block(at: 1) == nil && store.block(at: 2) == nil)
            #expect(try store.block(at: 3) == blocks[2] && store.block(at: 5) == blocks[4])
            #expect(try store.check().isClean)
            store.close()

            var configuration = Fixture.configuration(path + "/b")
            configuration.blockRetention = 0
            let tipOnly = try ChunkStore(configuration)
            var parent = BlockID.zero
            for height in UInt64(1)...4 {
                let block = Fixture.block(parent: parent, height: height, timestamp: Int64(height) * 10_000)
                try await tipOnly.recordAccepted(block)
                parent = block.id
                // Execution lags one block behind; the last is never executed.
                if height > 1 && height < 4 { try await tipOnly.markExecuted(height: height - 1) }
            }
            // At 40 s blocks 1...3 are older than the 5 s window, but only 1 and 2
            // are executed, and 2 stays as the parent of the window: 1 goes.
            #expect(try tipOnly.block(at: 1) == nil && tipOnly.block(at: 2) != nil)
            #expect(try tipOnly.block(at: 3) != nil && tipOnly.block(at: 4) != nil)
            #expect(try tipOnly.check().isClean)
            tipOnly.close()
            // Tools that adopt the store collect with the retention it was opened with.
            #expect(try StoreIdentity.read(at: path + "/b").blockRetention == 0)
            #expect(try StoreIdentity.read(at: path + "/a").blockRetention == nil)
        }
    }
}
