import DSMR
import DSMRNode
import DSMRTestSupport
import Synchronization
import Testing

/// Answers every request with its own bytes reversed and counts gossip.
final class EchoHandler: MessageHandler {
    let gossiped = Mutex(0)
    let requests = Mutex(0)
    func handleRequest(_ request: [UInt8], from peer: NodeID) async -> [UInt8] {
        requests.withLock { $0 += 1 }
        return request.reversed()
    }
    func handleGossip(_ message: [UInt8], from peer: NodeID) async { gossiped.withLock { $0 += 1 } }
}

@Suite struct TransportTests {
    let a = Fixture.signers[0].nodeID
    let b = Fixture.signers[1].nodeID
    let c = Fixture.signers[2].nodeID

    @Test func requestsAreAnsweredAndCrashedOrPartitionedPeersAreUnreachable() async throws {
        let network = InProcessNetwork()
        network.transport(for: b).register(EchoHandler())
        let transport = network.transport(for: a)
        #expect(try await transport.request([1, 2, 3], to: b, timeout: .seconds(30)) == [3, 2, 1])
        network.partition([[a], [b]])
        #expect(await failure { try await transport.request([1], to: b, timeout: .seconds(30)) } == .unreachable)
        network.heal()
        network.crash(b)
        #expect(await failure { try await transport.request([1], to: b, timeout: .seconds(30)) } == .unreachable)
        network.restart(b)
        network.transport(for: b).register(EchoHandler())
        #expect(try await transport.request([4, 5], to: b, timeout: .seconds(30)) == [5, 4])
    }

    @Test func lostMessagesTimeOut() async throws {
        let network = InProcessNetwork(seed: 1, faults: FaultPlan(dropPerMille: 1_000))
        network.transport(for: b).register(EchoHandler())
        do {
            _ = try await network.transport(for: a).request([1], to: b, timeout: .milliseconds(50))
            Issue.record("a lost request was answered")
        } catch {
            #expect(error.code == .timeout)
        }
    }

    @Test func duplicatedGossipArrivesTwice() async throws {
        let network = InProcessNetwork(seed: 1, faults: FaultPlan(duplicatePerMille: 1_000))
        let handler = EchoHandler()
        network.transport(for: b).register(handler)
        await network.transport(for: a).gossip([1], to: b)
        try await waitUntil { handler.gossiped.withLock { $0 } == 2 }
    }

    @Test func delayedMessagesOvertakeEachOther() async throws {
        final class Arrivals: MessageHandler {
            let order = Mutex<[UInt8]>([])
            func handleRequest(_ request: [UInt8], from peer: NodeID) async -> [UInt8] { [] }
            func handleGossip(_ message: [UInt8], from peer: NodeID) async { order.withLock { $0 += message } }
        }
        let network = InProcessNetwork(seed: 7, faults: FaultPlan(delayPerMille: 1_000, maxDelay: .seconds(1)))
        let arrivals = Arrivals()
        network.transport(for: b).register(arrivals)
        for index in 0..<20 { await network.transport(for: a).gossip([UInt8(index)], to: b) }
        try await waitUntil { arrivals.order.withLock { $0.count } == 20 }
        let order = arrivals.order.withLock { $0 }
        #expect(Set(order) == Set(0..<20))
        #expect(order != Array(0..<20))
    }

    @Test func faultsReplayFromTheSeed() async throws {
        // Which messages are lost is decided when they are sent, so the pattern depends only on the seed.
        func run(seed: UInt64) async -> [Int] {
            let network = InProcessNetwork(seed: seed, faults: FaultPlan(dropPerMille: 500, duplicatePerMille: 300))
            network.transport(for: b).register(EchoHandler())
            network.transport(for: c).register(EchoHandler())
            var pattern: [Int] = []
            for index in 0..<40 {
                await network.transport(for: a).gossip([UInt8(index)], to: index % 2 == 0 ? b : c)
                pattern.append(network.counts.dropped * 100 + network.counts.duplicated)
            }
            return pattern
        }
        let first = await run(seed: 42)
        #expect(await run(seed: 42) == first)
        #expect(first.last! / 100 > 0 && first.last! / 100 < 40)
        #expect(await run(seed: 43) != first)
    }
}

/// The code of the `TransportError` `body` throws, or nil.
func failure(_ body: () async throws -> [UInt8]) async -> TransportError.Code? {
    do {
        _ = try await body()
        return nil
    } catch {
        return (error as? TransportError)?.code
    }
}
