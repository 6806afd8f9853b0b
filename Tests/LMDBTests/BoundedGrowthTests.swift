import Dispatch
import Foundation
@testable import LMDB
import Synchronization
import Testing

@Suite("Growth never waits without bound")
struct BoundedGrowthTests {
    /// One thread holds a read open (a slow reader) while a write needs the
    /// map grown. The write fails with `growthTimedOut` after about
    /// `maxGrowthWait`, reads started meanwhile finish within that wait; a
    /// second write right after fails at once, without holding reads back
    /// again; once the slow read ends the same write succeeds.
    @Test func slowReaderMakesAGrowingWriteFailWithinTheWaitAndOtherReadsGoOn() throws {
        try withEnvironment(configure: {
            $0.mapSize = 64 << 10
            $0.durability = .noSync
            $0.maxGrowthWait = .seconds(3)
        }) { env, db, _ in
            try env.write { txn in try txn.put(bytes("v"), forKey: bytes("k"), in: db) }
            let release = DispatchSemaphore(value: 0)
            let readerInside = DispatchSemaphore(value: 0)
            let writeOutcome = Mutex<String>("not run")
            let writeSeconds = Mutex<Double>(0)
            let secondWrite = Mutex<(outcome: String, seconds: Double)>(("not run", 0))
            let slowestOtherRead = Mutex<Double>(0)
            let otherReads = Atomic<Int>(0)
            let writerDone = Atomic<Bool>(false)
            let errors = ErrorLog()
            let finished = runOnThreads(3, timeout: 60) { thread in
                switch thread {
                case 0:
                    do {
                        try env.read { _ in
                            readerInside.signal()  // Once for the writer,
                            readerInside.signal()  // once for the other reader.
                            // Slow: until the test lets go, at most 40 s (the
                            // old gate let the writer wait all that time).
                            _ = release.wait(timeout: .now() + 40)
                        }
                    } catch {
                        errors.record(error, "slow reader: ")
                    }
                case 1:
                    readerInside.wait()
                    let start = Date()
                    do {
                        try env.write { txn in
                            try txn.put([UInt8](repeating: 1, count: 1 << 20), forKey: bytes("big"), in: db)
                        }
                        writeOutcome.withLock { $0 = "committed" }
                    } catch {
                        writeOutcome.withLock { $0 = "\((error as? LMDBError)?.code.rawValue ?? 0)" }
                    }
                    writeSeconds.withLock { $0 = Date().timeIntervalSince(start) }
                    let again = Date()
                    do {
                        try env.write { txn in
                            try txn.put([UInt8](repeating: 1, count: 1 << 20), forKey: bytes("big"), in: db)
                        }
                        secondWrite.withLock { $0.outcome = "committed" }
                    } catch {
                        secondWrite.withLock { $0.outcome = "\((error as? LMDBError)?.code.rawValue ?? 0)" }
                    }
                    secondWrite.withLock { $0.seconds = Date().timeIntervalSince(again) }
                    writerDone.store(true, ordering: .releasing)
                    release.signal()
                default:
                    readerInside.wait()
                    repeat {
                        let start = Date()
                        do {
                            _ = try env.read { try $0.get(bytes("k"), in: db) }
                        } catch {
                            errors.record(error, "other reader: ")
                        }
                        let took = Date().timeIntervalSince(start)
                        slowestOtherRead.withLock { $0 = max($0, took) }
                        otherReads.add(1, ordering: .relaxed)
                    } while !writerDone.load(ordering: .acquiring)
                }
            }
            #expect(finished)
            #expect(errors.all == [])
            #expect(
                writeOutcome.withLock { $0 } == "\(LMDBError.Code.growthTimedOut.rawValue)",
                "the write waited for the slow reader instead of failing after maxGrowthWait")
            #expect(writeSeconds.withLock { $0 } >= 3)
            let second = secondWrite.withLock { $0 }
            #expect(second.outcome == "\(LMDBError.Code.growthTimedOut.rawValue)")
            #expect(second.seconds < 2.5, "the second write held reads back again for \(second.seconds) s")
            #expect(writeSeconds.withLock { $0 } < 20, "the write took \(writeSeconds.withLock { $0 }) s")
            #expect(otherReads.load(ordering: .relaxed) > 0)
            #expect(slowestOtherRead.withLock { $0 } < 20, "a read waited \(slowestOtherRead.withLock { $0 }) s")
            // Nothing of the failed write is kept; with the reader gone it succeeds.
            #expect(try env.read { try $0.get(bytes("big"), in: db) } == nil)
            #expect(env.writeFailure == nil)
            try env.write { txn in try txn.put([UInt8](repeating: 1, count: 1 << 20), forKey: bytes("big"), in: db) }
            #expect(try env.read { try $0.get(bytes("big"), in: db)?.count } == 1 << 20)
        }
    }

    /// Writes that fill more than three quarters of the map grow it after
    /// their commit, while no read is open, so later writes never hit
    /// MAP_FULL and never run twice.
    @Test func mapGrowsAheadOfNeedSoWritesDoNotHitMapFull() throws {
        try withEnvironment(configure: {
            $0.mapSize = 1 << 20
            $0.durability = .noSync
        }) { env, db, _ in
            var bodyRuns = 0
            let writes = 64
            for i in 0..<writes {
                try env.write { txn in
                    bodyRuns += 1
                    try txn.put([UInt8](repeating: 2, count: 64 << 10), forKey: bigEndianKey(UInt64(i)), in: db)
                }
            }
            #expect(bodyRuns == writes, "a write hit MAP_FULL and ran again")
            #expect(try env.info().mapSize >= 4 << 20)
        }
    }
}
