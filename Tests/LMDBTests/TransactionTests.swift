import DSMRTestSupport
import Foundation
import LMDB
import Synchronization
import Testing

private struct Deliberate: Error, Equatable {}

@Suite("Transactions")
struct TransactionTests {
    @Test func throwingWriteLeavesNoTraceAndRethrowsTheCallersError() throws {
        try withEnvironment { env, db, _ in
            try env.write { txn in try txn.put(bytes("kept"), forKey: bytes("k"), in: db) }
            let before = try env.info().lastTransactionID
            #expect(throws: Deliberate.self) {
                try env.write { txn in
                    for i: UInt64 in 0..<5_000 {
                        try txn.put(bigEndianKey(i), forKey: bigEndianKey(i), in: db)
                    }
                    try txn.put(bytes("changed"), forKey: bytes("k"), in: db)
                    try txn.clear(db)
                    try txn.put(bytes("again"), forKey: bytes("k2"), in: db)
                    // The transaction sees its own writes.
                    #expect(try txn.get(bytes("k2"), in: db) == bytes("again"))
                    throw Deliberate()
                }
            }
            #expect(try allEntries(env, db).map(\.0) == [bytes("k")])
            #expect(try env.read { try $0.get(bytes("k"), in: db) } == bytes("kept"))
            #expect(try env.info().lastTransactionID == before)
        }
    }

    @Test func writeFailingOnAnLMDBErrorLeavesNoTrace() throws {
        try withEnvironment { env, db, _ in
            try env.write { txn in try txn.put(bytes("v"), forKey: bytes("k"), in: db) }
            #expect(throws: LMDBError.self) {
                try env.write { txn in
                    try txn.put(bytes("x"), forKey: bytes("other"), in: db)
                    try txn.put(bytes("y"), forKey: bytes("k"), in: db, flags: .noOverwrite)
                }
            }
            #expect(try allEntries(env, db).map(\.0) == [bytes("k")])
        }
    }

    @Test func committedWriteSurvivesCloseAndReopen() throws {
        try withTemporaryDirectory { directory in
            var options = EnvironmentOptions(path: directory.path)
            options.databases = ["main", "other"]
            do {
                let env = try Environment(options)
                let db = try env.database("main")
                try env.write { txn in
                    for i: UInt64 in 0..<1_000 {
                        try txn.put(bigEndianKey(i * i), forKey: bigEndianKey(i), in: db)
                    }
                }
                _ = try? env.write { txn in
                    try txn.put(bytes("never"), forKey: bytes("aborted"), in: db)
                    throw Deliberate()
                }
                env.close()
            }
            let env = try Environment(options)
            defer { env.close() }
            #expect(env.staleReadersCleared == 0)
            let db = try env.database("main")
            let entries = try allEntries(env, db)
            #expect(entries.count == 1_000)
            #expect(entries.allSatisfy { bigEndianValue($0.1) == bigEndianValue($0.0) * bigEndianValue($0.0) })
            #expect(try env.read { try $0.get(bytes("aborted"), in: db) } == nil)
            #expect(try env.read { try $0.count(of: env.database("other")) } == 0)
        }
    }

    @Test func readTransactionSeesItsSnapshotWhileTheSameThreadCommits() throws {
        try withEnvironment { env, db, _ in
            try env.write { txn in try txn.put(bytes("old"), forKey: bytes("k"), in: db) }
            try env.read { snapshot throws in
                // A write on the same thread while the read is open (MDB_NOTLS).
                try env.write { txn in try txn.put(bytes("new"), forKey: bytes("k"), in: db) }
                #expect(try snapshot.get(bytes("k"), in: db) == bytes("old"))
                #expect(try env.read { try $0.get(bytes("k"), in: db) } == bytes("new"))
            }
        }
    }

    @Test func readInsideAWriteSeesTheLastCommitNotTheOpenWrite() throws {
        try withEnvironment { env, db, _ in
            try env.write { txn in try txn.put(bytes("committed"), forKey: bytes("k"), in: db) }
            try env.write { txn throws in
                try txn.put(bytes("pending"), forKey: bytes("k"), in: db)
                #expect(try env.read { try $0.get(bytes("k"), in: db) } == bytes("committed"))
                #expect(try txn.get(bytes("k"), in: db) == bytes("pending"))
            }
            #expect(try env.read { try $0.get(bytes("k"), in: db) } == bytes("pending"))
        }
    }

    /// Readers on several threads sum 100 balances while a writer moves
    /// amounts between them in many transactions: every snapshot keeps the
    /// total, and a snapshot read twice reads the same.
    @Test func readerThreadsKeepAConsistentSnapshotWhileAWriterCommits() throws {
        try withEnvironment { env, db, _ in
            let accounts: UInt64 = 100
            let total: UInt64 = accounts * 1_000
            try env.write { txn in
                for account in 0..<accounts {
                    try txn.put(bigEndianKey(1_000), forKey: bigEndianKey(account), in: db)
                }
            }
            let writerDone = Atomic<Bool>(false)
            let snapshotsChecked = Atomic<Int>(0)
            let errors = ErrorLog()
            let commits = 400
            let finished = runOnThreads(5) { thread in
                if thread == 0 {
                    defer { writerDone.store(true, ordering: .releasing) }
                    var generator = SystemRandomNumberGenerator()
                    do {
                        for _ in 0..<commits {
                            try env.write { txn in
                                for _ in 0..<5 {
                                    let from = bigEndianKey(UInt64.random(in: 0..<accounts, using: &generator))
                                    let to = bigEndianKey(UInt64.random(in: 0..<accounts, using: &generator))
                                    let fromBalance = bigEndianValue(try txn.get(from, in: db) ?? [])
                                    let amount = UInt64.random(in: 0...fromBalance, using: &generator)
                                    try txn.put(bigEndianKey(fromBalance - amount), forKey: from, in: db)
                                    let toBalance = bigEndianValue(try txn.get(to, in: db) ?? [])
                                    try txn.put(bigEndianKey(toBalance + amount), forKey: to, in: db)
                                }
                            }
                        }
                    } catch {
                        errors.record(error, "writer: ")
                    }
                    return
                }
                repeat {
                    do {
                        try env.read { txn in
                            var first: [UInt64] = []
                            try txn.scan(db) { entry in
                                first.append(bigEndianValue(entry.value))
                                return .next
                            }
                            if first.count != Int(accounts) || first.reduce(0, +) != total {
                                errors.record(
                                    "reader \(thread): \(first.count) accounts summing to \(first.reduce(0, +))")
                            }
                            // Hold the snapshot until the writer committed again.
                            let seen = try env.info().lastTransactionID
                            try eventuallyBlocking(within: .seconds(5)) {
                                try env.info().lastTransactionID > seen || writerDone.load(ordering: .acquiring)
                            }
                            var second: [UInt64] = []
                            try txn.scan(db) { entry in
                                second.append(bigEndianValue(entry.value))
                                return .next
                            }
                            if second != first { errors.record("reader \(thread): the snapshot changed under it") }
                        }
                        snapshotsChecked.add(1, ordering: .relaxed)
                    } catch {
                        errors.record(error, "reader \(thread): ")
                    }
                } while !writerDone.load(ordering: .acquiring)
            }
            #expect(finished)
            #expect(errors.all == [])
            #expect(snapshotsChecked.load(ordering: .relaxed) >= 4)
            let balances = try allEntries(env, db).map { bigEndianValue($0.1) }
            #expect(balances.reduce(0, +) == total)
        }
    }

    /// Eight threads each run 50 read-modify-write transactions on one
    /// counter (LMDB serialises the writers) while readers watch it rise.
    @Test func concurrentWritersAreSerialisedAndNoUpdateIsLost() throws {
        try withEnvironment(configure: { $0.durability = .noMetaSync }) { env, db, _ in
            let writers = 8
            let writesEach = 50
            let counterKey = bytes("counter")
            let writersLeft = Atomic<Int>(writers)
            let errors = ErrorLog()
            let finished = runOnThreads(writers + 2) { thread in
                if thread < writers {
                    defer { writersLeft.subtract(1, ordering: .releasing) }
                    do {
                        for i in 0..<writesEach {
                            try env.write { txn in
                                let count = bigEndianValue(try txn.get(counterKey, in: db) ?? bigEndianKey(0))
                                try txn.put(bigEndianKey(count + 1), forKey: counterKey, in: db)
                                try txn.put(bytes("\(thread)"), forKey: bytes("w\(thread)/\(i)"), in: db)
                            }
                        }
                    } catch {
                        errors.record(error, "writer \(thread): ")
                    }
                    return
                }
                var last: UInt64 = 0
                repeat {
                    do {
                        let (count, written) = try env.read { txn in
                            (
                                bigEndianValue(try txn.get(counterKey, in: db) ?? bigEndianKey(0)),
                                try txn.count(of: db)
                            )
                        }
                        if count < last { errors.record("reader saw the counter fall from \(last) to \(count)") }
                        // The counter and the per-write keys commit together.
                        let expectedEntries = count == 0 ? 0 : Int(count) + 1
                        if written != expectedEntries {
                            errors.record("reader saw counter \(count) with \(written) entries")
                        }
                        last = count
                    } catch {
                        errors.record(error, "reader: ")
                    }
                } while writersLeft.load(ordering: .acquiring) > 0
            }
            #expect(finished)
            #expect(errors.all == [])
            try env.read { txn throws in
                #expect(bigEndianValue(try txn.get(counterKey, in: db) ?? []) == UInt64(writers * writesEach))
                #expect(try txn.count(of: db) == writers * writesEach + 1)
            }
        }
    }

    @Test func manyThreadsReadingAtOnceDoNotRunOutOfReaderSlots() throws {
        // More threads than the pooled readers kept (32), fewer than slots.
        try withEnvironment { env, db, _ in
            try env.write { txn in try txn.put(bytes("v"), forKey: bytes("k"), in: db) }
            let errors = ErrorLog()
            let finished = runOnThreads(48) { _ in
                for _ in 0..<200 {
                    do {
                        let value = try env.read { try $0.get(bytes("k"), in: db) }
                        if value != bytes("v") { errors.record("wrong value \(String(describing: value))") }
                    } catch {
                        errors.record(error)
                    }
                }
            }
            #expect(finished)
            #expect(errors.all == [])
        }
    }
}
