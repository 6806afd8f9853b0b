import DSMR
import DSMRNode
import Testing

@Suite struct MempoolTests {
    func pending(_ n: UInt8) -> PendingTransaction {
        PendingTransaction(bytes: [n], sponsor: [n], expiry: .max, units: Dimensions(compute: 1))
    }

    @Test func holdsEachTransactionOnceUpToItsCapacity() {
        let mempool = Mempool(capacity: 2)
        #expect(mempool.add(pending(1)))
        #expect(mempool.add(pending(1)) == false)
        #expect(mempool.add(pending(2)))
        #expect(mempool.add(pending(3)) == false)
        #expect(mempool.count == 2)
    }
}
