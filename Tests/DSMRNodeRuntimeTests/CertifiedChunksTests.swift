import DSMR
import Testing

@testable import DSMRNodeRuntime

/// The certificates a node waits to see in a block, for the block-wait stage.
@Suite("Certified chunks awaiting a block")
struct CertifiedChunksTests {
    static func certificate(_ n: Int) throws -> ChunkCertificate {
        let reference = ChunkReference(
            chunkID: ChunkID(hashing: [UInt8(truncatingIfNeeded: n), UInt8(truncatingIfNeeded: n >> 8)]),
            producer: NodeID(publicKey: [1]), slot: UInt64(n), expiry: 1_000)
        return try ChunkCertificate(
            reference: reference, epoch: 0, signers: SignerBitSet(indices: [0]), signatures: [[0]])
    }

    static func block(_ certificates: [ChunkCertificate]) -> Block {
        Block(parent: BlockID(hashing: [0]), height: 1, timestamp: 0, certificates: certificates)
    }

    @Test func aBlockCarryingOurCertificatesGivesEachOnesWaitOnceAndOthersAreIgnored() throws {
        let held = CertifiedChunks()
        let start = ContinuousClock.now
        held.certified(try Self.certificate(1).reference.chunkID, at: start)
        held.certified(try Self.certificate(2).reference.chunkID, at: start + .milliseconds(100))
        let block = Self.block([try Self.certificate(1), try Self.certificate(2), try Self.certificate(3)])
        let waits = held.carried(by: block, at: start + .milliseconds(250))
        #expect(waits == [.milliseconds(250), .milliseconds(150)])
        #expect(held.count == 0)
        #expect(held.carried(by: block, at: start + .seconds(1)).isEmpty)
    }

    @Test func certificatesNoBlockCarriesAreForgottenOldestFirstPastTheCapacity() throws {
        let held = CertifiedChunks(capacity: 8)
        let start = ContinuousClock.now
        for n in 0..<20 { held.certified(try Self.certificate(n).reference.chunkID, at: start + .milliseconds(n)) }
        #expect(held.count == 8)
        let all = Self.block(try (0..<20).map(Self.certificate))
        #expect(held.carried(by: all, at: start + .seconds(1)).count == 8)
        held.certified(try Self.certificate(0).reference.chunkID, at: start)
        let late = held.carried(
            by: Self.block([try Self.certificate(19), try Self.certificate(0)]), at: start + .seconds(1))
        #expect(late == [.seconds(1)])
    }
}
