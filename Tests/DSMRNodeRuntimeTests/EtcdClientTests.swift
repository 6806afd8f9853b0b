import DSMRDevnet
import DSMROrdering
import DSMRTestSupport
import Foundation
import Synchronization
import Testing

/// ``EtcdClient`` against a real etcd member, started on free ports for each test and stopped after.
@Suite("etcd client", .serialized)
struct EtcdClientTests {
    @Test func createIfAbsentHasExactlyOneWinnerAmongConcurrentWriters() async throws {
        try await withEtcdMember("etcd") { client, _ in
            let key = Array("race/one".utf8)
            let winners = await withTaskGroup(of: UInt8?.self) { group in
                for writer in 0..<16 {
                    group.addTask {
                        let outcome = try? await client.createIfAbsent(key, [UInt8(writer)])
                        return outcome?.created == true ? UInt8(writer) : nil
                    }
                }
                return await group.reduce(into: [UInt8]()) { if let winner = $1 { $0.append(winner) } }
            }
            #expect(winners.count == 1, "winners: \(winners)")
            let stored = try await client.range(from: key)
            #expect(stored.keyValues.count == 1)
            #expect(stored.keyValues.first?.value == winners)
        }
    }

    @Test func aWriteFencedOnALeadershipFailsOnceItIsResigned() async throws {
        try await withEtcdMember("etcd") { client, _ in
            let lease = try await client.grantLease(seconds: 5)
            let leader = try await client.campaign(
                name: Array("election".utf8), lease: lease, value: [1], wait: .seconds(5))
            #expect(try await client.createIfAbsent(Array("fenced/a".utf8), [1], fencedOn: leader).created)
            try await client.resign(leader)
            #expect(try await !client.createIfAbsent(Array("fenced/b".utf8), [1], fencedOn: leader).created)
            #expect(try await client.range(from: Array("fenced/".utf8)).keyValues.count == 1)
        }
    }

    @Test func aWatchDeliversCreationsInRevisionOrder() async throws {
        try await withEtcdMember("etcd") { client, _ in
            let prefix = Array("log/".utf8)
            let start = try await client.put(Array("other".utf8), [0])
            let seen = Mutex<[Int64]>([])
            let watching = Task {
                try await client.watch(prefix: prefix, from: start + 1, for: .seconds(20)) { events, _ in
                    seen.withLock { $0 += events.map(\.keyValue.createRevision) }
                    if seen.withLock({ $0.count }) >= 30 { throw CancellationError() }
                }
            }
            // Three writers at once: keys in an order other than their revisions'.
            await withTaskGroup(of: Void.self) { group in
                for writer in 0..<3 {
                    group.addTask {
                        for index in 0..<10 {
                            _ = try? await client.put(Array("log/\(9 - index)-\(writer)".utf8), [UInt8(index)])
                        }
                    }
                }
            }
            _ = await watching.result
            let revisions = seen.withLock { $0 }
            #expect(revisions.count == 30)
            #expect(revisions == revisions.sorted() && Set(revisions).count == 30, "\(revisions)")
        }
    }

    @Test func aCompactedWatchIsCanceledAndTheTailReadsTheRangeAgain() async throws {
        try await withEtcdMember("etcd") { client, _ in
            let prefix = Array("log/".utf8)
            var revisions: [Int64] = []
            for index in 0..<5 { revisions.append(try await client.put(Array("log/\(99 - index)".utf8), [1])) }
            // Watching from a compacted revision: etcd cancels the watch, naming the compaction.
            try await client.compact(revision: revisions[4])
            await #expect {
                try await client.watch(prefix: prefix, from: revisions[0], for: .seconds(5)) { _, _ in }
            } throws: { ($0 as? EtcdError)?.compactRevision == revisions[4] }
            // The tail reads the first five keys, then (held up here) its watch
            // starts after keys were written and compacted away: it must read again.
            let delivered = Mutex<[Int64]>([])
            let release = Mutex(false)
            let tail = Task {
                try await client.tail(prefix: prefix, after: 0) { entries, _ in
                    let count = delivered.withLock {
                        $0 += entries.map(\.createRevision)
                        return $0.count
                    }
                    while count == 5, !release.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
                    if count >= 12 { throw CancellationError() }
                }
            }
            #expect(await eventually(within: .seconds(10)) { delivered.withLock { $0.count } >= 5 })
            for index in 0..<5 { revisions.append(try await client.put(Array("log/\(index)".utf8), [2])) }
            try await client.compact(revision: revisions[9])
            release.withLock { $0 = true }
            #expect(await eventually(within: .seconds(10)) { delivered.withLock { $0.count } >= 10 })
            for index in 0..<2 { revisions.append(try await client.put(Array("log/x\(index)".utf8), [3])) }
            _ = await eventually(within: .seconds(10)) { delivered.withLock { $0.count } >= 12 }
            tail.cancel()
            _ = await tail.result
            #expect(delivered.withLock { $0 } == revisions)
        }
    }

    /// Keys overwritten or deleted after they were created (as a
    /// credential holder may): a tail started from 0 afterwards delivers
    /// every key once with its first value, in create order, exactly as a
    /// tail that watched them live did.
    @Test func aTailDeliversEachKeysFirstValueDespiteOverwritesAndDeletions() async throws {
        try await withEtcdMember("etcd") { client, _ in
            let prefix = Array("log/".utf8)
            let live = Mutex<[EtcdKeyValue]>([])
            let watching = Task {
                try await client.tail(prefix: prefix, after: 0) { entries, _ in live.withLock { $0 += entries } }
            }
            func key(_ name: String) -> [UInt8] { Array("log/\(name)".utf8) }
            try await client.put(key("first"), [0])
            #expect(await eventually(within: .seconds(10)) { live.withLock { $0.count } == 1 })
            for name in ["z", "a", "m", "q"] { try await client.put(key(name), Array("\(name)1".utf8)) }
            try await client.put(key("a"), Array("a2".utf8))
            _ = try await client.deleteRange(from: key("m"), to: key("m") + [0])
            try await client.put(key("q"), Array("q2".utf8))
            _ = try await client.deleteRange(from: key("q"), to: key("q") + [0])
            let last = try await client.put(key("b"), Array("b1".utf8))
            #expect(await eventually(within: .seconds(10)) { live.withLock { $0.count } >= 6 })
            watching.cancel()
            _ = await watching.result
            // A tail started afterwards replays the history (no key is read as it is now).
            let late = Mutex<[EtcdKeyValue]>([])
            let compactions = Mutex(0)
            _ = await Task {
                try await client.tail(prefix: prefix, after: 0, compacted: { _ in compactions.withLock { $0 += 1 } }) {
                    entries, through in
                    late.withLock { $0 += entries }
                    if through >= last { throw CancellationError() }
                }
            }.result
            #expect(compactions.withLock { $0 } == 0)
            let expected = ["first", "z", "a", "m", "q", "b"].map(key)
            let values = [[UInt8(0)]] + ["z1", "a1", "m1", "q1", "b1"].map { Array($0.utf8) }
            #expect(live.withLock { $0 }.map(\.key) == expected)
            #expect(live.withLock { $0 }.map(\.value) == values)
            #expect(late.withLock { $0 } == live.withLock { $0 })
            let revisions = late.withLock { $0 }.map(\.createRevision)
            #expect(revisions == revisions.sorted())
        }
    }
}
