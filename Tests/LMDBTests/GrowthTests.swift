import CLMDB
import DSMRTestSupport
import Dispatch
import Foundation
@testable import LMDB
import Synchronization
import Testing

@Suite("Map growth")
struct GrowthTests {
    /// 100 MiB of 16 KiB values, in transactions of 4 MiB, into an
    /// environment opened with a 64 KiB map. Commits are `.noSync`: this test
    /// is about growth, and 25 synced 4 MiB commits would only add disk time.
    @Test func sixtyFourKiBMapTakesOneHundredMegabytesWithoutTheCallerSeeingAnError() throws {
        try withEnvironment(configure: {
            $0.mapSize = 64 << 10
            $0.durability = .noSync
        }) { env, db, _ in
            #expect(try env.info().mapSize == 64 << 10)
            let valueSize = 16 << 10
            let perTransaction = 256
            let transactions = 25
            var bodyRuns = 0
            for batch in 0..<transactions {
                try env.write { txn in
                    bodyRuns += 1
                    for i in 0..<perTransaction {
                        let number = UInt64(batch * perTransaction + i)
                        try txn.put(reserving: valueSize, forKey: bigEndianKey(number), in: db) { buffer in
                            buffer.initializeMemory(as: UInt8.self, repeating: UInt8(truncatingIfNeeded: number))
                            buffer.storeBytes(of: number.bigEndian, as: UInt64.self)
                        }
                    }
                }
            }
            // The map grew by retrying bodies that hit MAP_FULL.
            #expect(bodyRuns > transactions)
            let info = try env.info()
            #expect(info.mapSize >= 100 << 20)
            #expect(info.usedBytes >= 100 << 20)
            let count = transactions * perTransaction
            #expect(try env.read { try $0.count(of: db) } == count)
            try env.read { txn throws in
                for number in [0, 1, 255, 4_000, count - 1].map(UInt64.init) {
                    let ok = try txn.withValue(forKey: bigEndianKey(number), in: db) { value in
                        value.count == valueSize && bigEndianValue(value.prefix(8)) == number
                            && value[valueSize - 1] == UInt8(truncatingIfNeeded: number)
                    }
                    #expect(ok == true, "value \(number)")
                }
            }
        }
    }

    @Test func lowMaxMapSizeCeilingYieldsMapFullWithAClearMessage() throws {
        try withEnvironment(configure: {
            $0.mapSize = 64 << 10
            $0.maxMapSize = 256 << 10
        }) { env, db, _ in
            try env.write { txn in try txn.put(bytes("small"), forKey: bytes("kept"), in: db) }
            let error = #expect(throws: LMDBError.self) {
                try env.write { txn in
                    for i: UInt64 in 0..<64 {
                        try txn.put([UInt8](repeating: 1, count: 16 << 10), forKey: bigEndianKey(i), in: db)
                    }
                }
            }
            #expect(error?.code == .mapFull)
            #expect(error?.message.contains("maxMapSize") == true)
            #expect(error?.message.contains("\(256 << 10)") == true)
            #expect(try env.info().mapSize == 256 << 10)
            // Nothing of the failed write is kept, and small writes still work.
            #expect(try allEntries(env, db).map(\.0) == [bytes("kept")])
            try env.write { txn in try txn.put(bytes("more"), forKey: bytes("after"), in: db) }
            #expect(try env.read { try $0.count(of: db) } == 2)
        }
    }

    @Test func mapFullSwallowedInsideTheWriteStillGrowsAndRetries() throws {
        try withEnvironment(configure: { $0.mapSize = 64 << 10 }) { env, db, _ in
            var attempts = 0
            try env.write { txn in
                attempts += 1
                do {
                    try txn.put([UInt8](repeating: 7, count: 1 << 20), forKey: bytes("big"), in: db)
                } catch {
                    // Ignored on purpose: the environment must still notice.
                }
            }
            #expect(attempts > 1)
            #expect(try env.read { try $0.get(bytes("big"), in: db)?.count } == 1 << 20)
        }
    }

    /// The value size at which, in a 64 KiB map holding one small entry, the
    /// put succeeds but `mdb_txn_commit` fails with `MDB_MAP_FULL` (it needs
    /// a page for the free list). Found with the C API, so the test below
    /// really exercises MAP_FULL from the commit.
    private static func valueSizeFailingAtCommit() throws -> Int? {
        try withTemporaryDirectory { directory in
            for size in stride(from: 36 << 10, to: 60 << 10, by: 256) {
                let path = try directory.makeDirectory("probe-\(size)")
                var env: OpaquePointer?
                guard mdb_env_create(&env) == 0 else { return nil }
                defer { mdb_env_close(env) }
                mdb_env_set_mapsize(env, 64 << 10)
                guard mdb_env_open(env, path, UInt32(MDB_NOSYNC), 0o600) == 0 else { return nil }
                guard rawPut(env, key: "a", size: 10) == (0, .commit) else { return nil }
                if rawPut(env, key: "b", size: size) == (MDB_MAP_FULL, .commit) { return size }
            }
            return nil
        }
    }

    private enum RawStep { case begin, put, commit }

    /// Puts one value with the C API; returns the result and the step that
    /// gave it.
    private static func rawPut(_ env: OpaquePointer?, key: String, size: Int) -> (Int32, RawStep) {
        var txn: OpaquePointer?
        let begun = mdb_txn_begin(env, nil, 0, &txn)
        guard begun == 0 else { return (begun, .begin) }
        var dbi = MDB_dbi()
        mdb_dbi_open(txn, nil, 0, &dbi)
        var value = [UInt8](repeating: 9, count: size)
        var keyBytes = Array(key.utf8)
        let rc = keyBytes.withUnsafeMutableBytes { k in
            value.withUnsafeMutableBytes { v in
                var kv = MDB_val(mv_size: k.count, mv_data: k.baseAddress)
                var vv = MDB_val(mv_size: v.count, mv_data: v.baseAddress)
                return mdb_put(txn, dbi, &kv, &vv, 0)
            }
        }
        if rc != 0 {
            mdb_txn_abort(txn)
            return (rc, .put)
        }
        return (mdb_txn_commit(txn), .commit)
    }

    @Test func mapFullFromTheCommitGrowsAndRetriesOrReportsTheCeiling() throws {
        let size = try #require(try Self.valueSizeFailingAtCommit(), "no value size makes mdb_txn_commit fail")
        // With room to grow: the caller sees nothing.
        try withEnvironment(configure: { $0.mapSize = 64 << 10 }) { env, db, _ in
            try env.write { txn in try txn.put([UInt8](repeating: 1, count: 10), forKey: bytes("a"), in: db) }
            var attempts = 0
            try env.write { txn in
                attempts += 1
                try txn.put([UInt8](repeating: 9, count: size), forKey: bytes("b"), in: db)
            }
            #expect(attempts == 2)
            #expect(try env.read { try $0.get(bytes("b"), in: db)?.count } == size)
        }
        // At the ceiling: mapFull, not a bad transaction.
        try withEnvironment(configure: {
            $0.mapSize = 64 << 10
            $0.maxMapSize = 64 << 10
        }) { env, db, _ in
            try env.write { txn in try txn.put([UInt8](repeating: 1, count: 10), forKey: bytes("a"), in: db) }
            let error = #expect(throws: LMDBError.self) {
                try env.write { txn in try txn.put([UInt8](repeating: 9, count: size), forKey: bytes("b"), in: db) }
            }
            #expect(error?.code == .mapFull)
            #expect(error?.message.contains("maxMapSize") == true)
            #expect(try env.read { try $0.get(bytes("b"), in: db) } == nil)
        }
    }

    /// Reader threads hold snapshots (and pointers into the map) for a while
    /// and check the bytes are unchanged before letting go, while a writer
    /// grows the map from 64 KiB to tens of MiB: growth waits for them.
    @Test func growthWaitsForReaderThreadsHoldingSnapshots() throws {
        try withEnvironment(configure: {
            $0.mapSize = 64 << 10
            $0.durability = .noSync
            // Readers let go within milliseconds; a loaded machine must not
            // turn a descheduled reader into a growth timeout.
            $0.maxGrowthWait = .seconds(30)
        }) { env, db, _ in
            try env.write { txn in
                try txn.put([UInt8](repeating: 0x5A, count: 8 << 10), forKey: bytes("pinned"), in: db)
            }
            let writerDone = Atomic<Bool>(false)
            let readsDuringGrowth = Atomic<Int>(0)
            let errors = ErrorLog()
            let finished = runOnThreads(4, timeout: 30) { thread in
                if thread == 0 {
                    defer { writerDone.store(true, ordering: .releasing) }
                    do {
                        for batch: UInt64 in 0..<40 {
                            try env.write { txn in
                                for i: UInt64 in 0..<64 {
                                    try txn.put(
                                        [UInt8](repeating: UInt8(truncatingIfNeeded: i), count: 8 << 10),
                                        forKey: bigEndianKey(batch * 64 + i), in: db)
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
                            // Hold the snapshot until the writer committed
                            // again or waits to grow the map.
                            let lastCommit = try env.info().lastTransactionID
                            try txn.withValue(forKey: bytes("pinned"), in: db) { value in
                                try eventuallyBlocking(within: .seconds(5)) {
                                    try env.info().lastTransactionID > lastCommit || env.gate.isExclusivePending
                                        || writerDone.load(ordering: .acquiring)
                                }
                                if value.count != 8 << 10 || value.contains(where: { $0 != 0x5A }) {
                                    errors.record("reader \(thread): pinned value changed under it")
                                }
                            }
                            let count = try txn.count(of: db)
                            var seen = 0
                            try txn.scan(db) { _ in
                                seen += 1
                                return .next
                            }
                            if seen != count {
                                errors.record("reader \(thread): \(seen) entries, statistics say \(count)")
                            }
                        }
                        readsDuringGrowth.add(1, ordering: .relaxed)
                    } catch {
                        errors.record(error, "reader \(thread): ")
                    }
                } while !writerDone.load(ordering: .acquiring)
            }
            #expect(finished)
            #expect(errors.all == [])
            #expect(
                readsDuringGrowth.load(ordering: .relaxed) >= 3,
                "every reader thread finished a read while the writer ran")
            #expect(try env.info().mapSize >= 20 << 20)
            #expect(try env.read { try $0.count(of: db) } == 40 * 64 + 1)
        }
    }

    /// A thread holding a read transaction opens another one (here a nested
    /// `read` and an `info()`), while a writer on another thread waits to
    /// grow the map: the nested calls must not wait behind the growth that
    /// waits for them.
    @Test func nestedReadWhileGrowthIsPendingDoesNotDeadlock() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var options = EnvironmentOptions(path: directory.path)
        options.databases = ["main"]
        options.mapSize = 64 << 10
        options.durability = .noSync
        options.maxGrowthWait = .seconds(20)
        let env = try Environment(options)
        let db = try env.database("main")
        try env.write { txn in try txn.put(bytes("v"), forKey: bytes("k"), in: db) }

        let readerInside = DispatchSemaphore(value: 0)
        let errors = ErrorLog()
        let finished = runOnThreads(2, timeout: 10) { thread in
            if thread == 0 {
                do {
                    try env.read { txn in
                        readerInside.signal()
                        // The writer hits MAP_FULL and waits to grow.
                        if !eventuallyBlocking(within: .seconds(10), { env.gate.isExclusivePending }) {
                            errors.record("the writer never waited to grow the map")
                        }
                        let nested = try env.read { try $0.get(bytes("k"), in: db) }
                        if nested != bytes("v") { errors.record("nested read saw \(String(describing: nested))") }
                        _ = try env.info()
                        if try txn.get(bytes("k"), in: db) != bytes("v") { errors.record("outer read lost its value") }
                    }
                } catch {
                    errors.record(error, "reader: ")
                }
            } else {
                readerInside.wait()
                do {
                    try env.write { txn in
                        try txn.put([UInt8](repeating: 1, count: 1 << 20), forKey: bytes("big"), in: db)
                    }
                } catch {
                    errors.record(error, "writer: ")
                }
            }
        }
        #expect(finished, "deadlock: the nested read waited for growth that waited for it")
        guard finished else { return }  // Leave the stuck environment open.
        #expect(errors.all == [])
        #expect(try env.read { try $0.get(bytes("big"), in: db)?.count } == 1 << 20)
        env.close()
    }
}

/// A second, raw C handle on the same directory stands in for another
/// process that grows the map. (The wrapper refuses a second open in one
/// process because closing either handle drops the process's POSIX locks;
/// here the raw handle is closed last, after the wrapper's.)
@Suite("Map grown by another handle")
struct ForeignGrowthTests {
    private static func rawGrow(_ env: OpaquePointer?, key: String, size: Int) -> Int32 {
        var txn: OpaquePointer?
        var rc = mdb_txn_begin(env, nil, 0, &txn)
        guard rc == 0 else { return rc }
        var dbi = MDB_dbi()
        rc = mdb_dbi_open(txn, "main", 0, &dbi)
        guard rc == 0 else {
            mdb_txn_abort(txn)
            return rc
        }
        var keyBytes = Array(key.utf8)
        var value = [UInt8](repeating: 3, count: size)
        rc = keyBytes.withUnsafeMutableBytes { k in
            value.withUnsafeMutableBytes { v in
                var kv = MDB_val(mv_size: k.count, mv_data: k.baseAddress)
                var vv = MDB_val(mv_size: v.count, mv_data: v.baseAddress)
                return mdb_put(txn, dbi, &kv, &vv, 0)
            }
        }
        guard rc == 0 else {
            mdb_txn_abort(txn)
            return rc
        }
        return mdb_txn_commit(txn)
    }

    @Test func mapGrownElsewhereIsAdoptedAndANestedReadGetsMapResizedNotADeadlock() throws {
        try withTemporaryDirectory { directory in
            var options = EnvironmentOptions(path: directory.path)
            options.databases = ["main"]
            options.mapSize = 64 << 10
            options.durability = .noSync
            let env = try Environment(options)
            let db = try env.database("main")
            try env.write { txn in try txn.put(bytes("v"), forKey: bytes("k"), in: db) }

            var raw: OpaquePointer?
            try #require(mdb_env_create(&raw) == 0)
            defer { mdb_env_close(raw) }
            mdb_env_set_maxdbs(raw, 4)
            mdb_env_set_mapsize(raw, 32 << 20)
            try #require(mdb_env_open(raw, directory.path, UInt32(MDB_NOTLS | MDB_NOSYNC), 0o600) == 0)
            defer { env.close() }  // Before the raw handle (defers run in reverse).

            try #require(Self.rawGrow(raw, key: "grown", size: 1 << 20) == 0)
            // The wrapper's map is too small for the file now: it adopts the
            // larger size and reads on.
            #expect(try env.read { try $0.get(bytes("grown"), in: db)?.count } == 1 << 20)
            #expect(try env.info().mapSize == 32 << 20)

            try env.read { outer throws in
                // Beyond the map the wrapper uses, while this thread holds `outer`.
                try #require(Self.rawGrow(raw, key: "grown more", size: 40 << 20) == MDB_MAP_FULL)
                mdb_env_set_mapsize(raw, 128 << 20)
                try #require(Self.rawGrow(raw, key: "grown more", size: 40 << 20) == 0)
                let error = #expect(throws: LMDBError.self) {
                    try env.read { try $0.get(bytes("grown more"), in: db) }
                }
                #expect(error?.code == .mapResized)
                #expect(try outer.get(bytes("k"), in: db) == bytes("v"))
            }
            // With no transaction held, the next read adopts the new size.
            #expect(try env.read { try $0.get(bytes("grown more"), in: db)?.count } == 40 << 20)
            try env.write { txn in try txn.put(bytes("after"), forKey: bytes("k2"), in: db) }
            #expect(try env.read { try $0.count(of: db) } == 4)
        }
    }
}
