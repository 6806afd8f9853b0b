import DSMR
import Testing

@Suite struct BlockTests {
    @Test func blockRoundTripsWithItsID() throws {
        let all = Fixtures.signers(4)
        let certificate = try Fixtures.certificate(all: all, signing: 3)
        let block = Fixtures.block(certificates: [certificate, certificate])
        let bytes = block.encoded()
        let decoded = try Block(decoding: bytes)
        #expect(decoded == block)
        #expect(decoded.id == BlockID(hashing: bytes))
        #expect(decoded.certificates == [certificate, certificate])
        #expect(decoded.timestamp == 1_700_000_000_123)
        let empty = Fixtures.block(certificates: [])
        #expect(try Block(decoding: empty.encoded()) == empty)
        #expect(empty.id != block.id)
    }

    @Test func everyFieldChangesTheID() throws {
        let base = Block(parent: .zero, height: 1, timestamp: 2, certificates: [])
        #expect(Block(parent: .zero, height: 2, timestamp: 2, certificates: []).id != base.id)
        #expect(Block(parent: .zero, height: 1, timestamp: 3, certificates: []).id != base.id)
        #expect(Block(parent: base.id, height: 1, timestamp: 2, certificates: []).id != base.id)
    }
}
