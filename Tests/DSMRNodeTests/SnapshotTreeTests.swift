import DSMR
import DSMRNode
import Testing

@Suite struct SnapshotTreeTests {
    func payloads(_ count: Int) -> [[UInt8]] { (0..<count).map { [UInt8(truncatingIfNeeded: $0), 7, UInt8($0 >> 8)] } }

    @Test func everyPieceOfEveryTreeUpToFortyProvesAgainstItsRootAndNoOtherPlace() {
        for count in 1...40 {
            let pieces = payloads(count)
            let leaves = pieces.map { SnapshotTree.leaf($0) }
            let root = SnapshotTree.root(leaves: leaves)
            for index in 0..<count {
                let proof = SnapshotTree.proof(index: index, leaves: leaves)
                #expect(proof.count <= 6 * SnapshotTree.hashBytes)
                #expect(
                    SnapshotTree.verify(
                        payload: pieces[index], index: UInt32(index), count: UInt32(count), proof: proof, root: root),
                    "piece \(index) of \(count)")
                // Another place, another count, another payload.
                if count > 1 {
                    let elsewhere = UInt32((index + 1) % count)
                    #expect(
                        !SnapshotTree.verify(
                            payload: pieces[index], index: elsewhere, count: UInt32(count), proof: proof, root: root))
                }
                #expect(
                    !SnapshotTree.verify(
                        payload: pieces[index], index: UInt32(index), count: UInt32(count + 1), proof: proof,
                        root: root))
                #expect(
                    !SnapshotTree.verify(
                        payload: pieces[index] + [0], index: UInt32(index), count: UInt32(count), proof: proof,
                        root: root))
            }
        }
    }

    @Test func aChangedByteAnywhereInAPieceOrItsProofFails() {
        let pieces = payloads(13)
        let leaves = pieces.map { SnapshotTree.leaf($0) }
        let root = SnapshotTree.root(leaves: leaves)
        let index = 6
        let proof = SnapshotTree.proof(index: index, leaves: leaves)
        for position in pieces[index].indices {
            var payload = pieces[index]
            payload[position] ^= 0x40
            #expect(!SnapshotTree.verify(payload: payload, index: 6, count: 13, proof: proof, root: root))
        }
        for position in proof.indices {
            var changed = proof
            changed[position] ^= 0x01
            #expect(!SnapshotTree.verify(payload: pieces[index], index: 6, count: 13, proof: changed, root: root))
        }
        // A proof a hash short, a hash long, torn, or for an index past the count.
        let verify = { (proof: [UInt8], index: UInt32) in
            SnapshotTree.verify(payload: pieces[6], index: index, count: 13, proof: proof, root: root)
        }
        #expect(!verify(Array(proof.dropLast(32)), 6))
        #expect(!verify(proof + proof.prefix(32), 6))
        #expect(!verify(Array(proof.dropLast()), 6))
        #expect(!verify(proof, 13))
        #expect(!verify([], 6))
        #expect(!SnapshotTree.verify(payload: pieces[6], index: 0, count: 0, proof: [], root: root))
    }

    @Test func theRootFixesTheCountAndAnOddLastPieceIsNotPairedWithItself() {
        let three = payloads(3).map { SnapshotTree.leaf($0) }
        #expect(SnapshotTree.root(leaves: three) != SnapshotTree.root(leaves: three + [three[2]]))
        #expect(SnapshotTree.root(leaves: [three[0]]) != SnapshotTree.root(leaves: [three[0], three[0]]))
        // A leaf hash handed in as a payload is not the leaf.
        #expect(SnapshotTree.leaf(three[0]) != three[0])
        // The same pieces give the same root; order matters.
        #expect(
            SnapshotTree.root(leaves: three) == SnapshotTree.root(leaves: payloads(3).map { SnapshotTree.leaf($0) }))
        #expect(SnapshotTree.root(leaves: three) != SnapshotTree.root(leaves: three.reversed()))
    }
}
