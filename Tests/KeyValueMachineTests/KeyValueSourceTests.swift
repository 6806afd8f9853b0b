import Crypto
import DSMR
import DSMRNode
import KeyValueMachine
import Testing

@Suite struct KeyValueSourceTests {
    typealias F = KeyValueFixtures

    @Test func writersDeriveFromTheSeedAsDocumented() {
        let writers = KeyValueProvider.writers(seed: [7, 8], count: 3)
        #expect(writers.count == 3)
        #expect(writers[2] == Array(SHA256.hash(data: [7, 8, 0, 0, 0, 0, 0, 0, 0, 2])))
        #expect(Set(writers).count == 3)
    }

    @Test func eachLaneMakesConsecutiveSequencesOfItsWriter() throws {
        let source = KeyValueSource(writers: KeyValueProvider.writers(seed: [1], count: 2), lifetime: 500)
        #expect(source.laneCount == 2)
        for sequence: UInt64 in 0..<18 {
            for lane in 0..<2 {
                let made = try #require(source.next(lane: lane, now: 1_000))
                let write = try KeyValueWrite(decoding: made.bytes)
                #expect(made.position == sequence && write.sequence == sequence)
                #expect(made.lane == lane)
                #expect(made.sponsor == source.sponsor(ofLane: lane) && write.writer == made.sponsor)
                #expect(made.expiry == 1_500 && write.expiry == 1_500)
                #expect(made.digest == Array(SHA256.hash(data: made.bytes)))
                #expect(write.key == Array("k\(lane)-\(sequence % 16)".utf8))
            }
        }
        #expect(source.nextSequences == [18, 18])
    }

    @Test func aSourcesWritesApplyAndSynchronizeStartsLanesAtTheExecutedSequences() async throws {
        try await F.withMachine { _, machine in
            let writers = KeyValueProvider.writers(seed: [2], count: 2)
            let first = KeyValueSource(writers: writers, lifetime: 10_000)
            let made = (0..<3).flatMap { _ in (0..<2).map { first.next(lane: $0, now: 0)!.bytes } }
            let report = try await F.executeNext(machine, made)
            #expect(report.applied == Array(repeating: true, count: 6))
            #expect(machine.nextSequence(of: writers[1]) == 3)

            // A new source over the same writers starts where the state is.
            let second = KeyValueSource(writers: writers, lifetime: 10_000)
            try await second.synchronize { try machine.query($0) }
            #expect(second.nextSequences == [3, 3])
            let next = try #require(second.next(lane: 0, now: 0))
            #expect(try await F.executeNext(machine, [next.bytes]).applied == [true])
        }
    }

    @Test func lostFindsTakenAndBlockedWritesAndRestartsTheirLanes() {
        let source = KeyValueSource(writers: KeyValueProvider.writers(seed: [3], count: 2), lifetime: 100)
        // Every write made at 1 000 expires at 1 100.
        let lane0 = (0..<4).map { _ in source.next(lane: 0, now: 1_000)! }
        let lane1 = (0..<2).map { _ in source.next(lane: 1, now: 1_000)! }

        // Lane 0 executed up to 2 without its 0 and 1: other writes took
        // those sequences. Its next (2) and lane 1's (0) are still valid.
        let taken = source.resolve(pending: lane0 + lane1, executed: [0: 2, 1: 0], chainTime: 1_050)
        #expect(taken == Set(lane0[0..<2].map(\.digest)))
        #expect(source.nextSequences == [4, 2])

        // Past their expiry, each lane's next write blocks the lane: it and
        // everything after are lost, and the lane restarts at its executed sequence.
        let blocked = source.resolve(pending: Array(lane0[2...]) + lane1, executed: [0: 2, 1: 0], chainTime: 1_101)
        #expect(blocked == Set((Array(lane0[2...]) + lane1).map(\.digest)))
        #expect(source.nextSequences == [2, 0])

        // A write past a gap (none pending at the executed sequence) can never apply.
        let remade = (0..<2).map { _ in source.next(lane: 0, now: 2_000)! }
        #expect(remade.map(\.position) == [2, 3])
        let gap = source.resolve(pending: [remade[1]], executed: [0: 2], chainTime: 0)
        #expect(gap == [remade[1].digest])
        #expect(source.nextSequences == [2, 0])
    }

    @Test func lostReadsTheExecutedSequencesThroughTheQuery() async throws {
        try await F.withMachine { _, machine in
            let writers = KeyValueProvider.writers(seed: [4], count: 1)
            let source = KeyValueSource(writers: writers, lifetime: 100)
            let writes = (0..<3).map { _ in source.next(lane: 0, now: 1_000)! }
            try await F.executeNext(machine, timestamp: 1_000, [writes[0].bytes])
            // Sequence 0 applied; 1 expired before the chain's 1 200: 1 and 2 are lost.
            let lost = await source.lost(among: Array(writes[1...]), chainTime: 1_200) { try machine.query($0) }
            #expect(lost == Set(writes[1...].map(\.digest)))
            #expect(source.nextSequences == [1])
            let remade = try #require(source.next(lane: 0, now: 2_000))
            #expect(remade.position == 1)
            #expect(try await F.executeNext(machine, timestamp: 2_000, [remade.bytes]).applied == [true])
        }
    }

    @Test func abandoningRewindsEachLaneToItsLowestAbandonedSequence() {
        let source = KeyValueSource(writers: KeyValueProvider.writers(seed: [5], count: 2), lifetime: 100)
        let lane0 = (0..<5).map { _ in source.next(lane: 0, now: 0)! }
        let lane1 = (0..<2).map { _ in source.next(lane: 1, now: 0)! }
        source.abandon([lane0[3], lane0[2], lane0[4]])
        #expect(source.nextSequences == [2, 2])
        source.abandon([lane1[1]])
        #expect(source.nextSequences == [2, 1])
        #expect(source.next(lane: 0, now: 0)?.bytes == lane0[2].bytes)
    }
}
