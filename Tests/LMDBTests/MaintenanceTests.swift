import LMDB
import Testing

@Suite("Copy, compaction, info and statistics")
struct MaintenanceTests {
    @Test func compactedCopyIsSmallerAndHoldsExactlyTheRemainingEntries() throws {
        try withEnvironment(configure: { $0.databases += ["other"] }) { env, db, directory in
            let other = try env.database("other")
            try env.write { txn in
                for i: UInt64 in 0..<5_000 {
                    try txn.put(
                        [UInt8](repeating: UInt8(truncatingIfNeeded: i), count: 400), forKey: bigEndianKey(i), in: db)
                }
                try txn.put(bytes("x"), forKey: bytes("y"), in: other)
            }
            // Delete 90%.
            let visited = try env.write { txn in
                try txn.scan(db) { entry in bigEndianValue(entry.keyBytes) % 10 == 0 ? .next : .delete }
            }
            #expect(visited == 5_000)
            let remaining = try allEntries(env, db)
            #expect(remaining.count == 500)

            let plain = try directory.makeDirectory("plain")
            let compacted = try directory.makeDirectory("compacted")
            try env.copy(to: plain, compact: false)
            try env.copy(to: compacted)  // Compacts by default.
            let sourceSize = try fileSize(directory.appending("data.mdb"))
            let plainSize = try fileSize(plain + "/data.mdb")
            let compactedSize = try fileSize(compacted + "/data.mdb")
            #expect(compactedSize < plainSize)
            #expect(plainSize == sourceSize)

            var copyOptions = EnvironmentOptions(path: compacted)
            copyOptions.databases = ["main", "other"]
            let copy = try Environment(copyOptions)
            defer { copy.close() }
            // LMDB 0.9.24 writes the compacted file in 1 MiB buffers, so its
            // size is rounded up; the pages in use show the compaction.
            let sourcePages = try env.info().lastPage + 1
            let copyPages = try copy.info().lastPage + 1
            #expect(copyPages * 2 < sourcePages, "pages in use: source \(sourcePages), compacted copy \(copyPages)")
            // Free pages are left out: what remains is the databases' own
            // pages, the two meta pages and the catalogue of named databases.
            let livePages = try env.statistics(of: db).bytesUsed / env.info().pageSize
            #expect(copyPages <= livePages + 8, "compacted copy \(copyPages) pages, \(livePages) in use")
            let copied = try allEntries(copy, try copy.database("main"))
            #expect(copied.map(\.0) == remaining.map(\.0))
            #expect(copied.map(\.1) == remaining.map(\.1))
            #expect(try copy.read { try $0.get(bytes("y"), in: copy.database("other")) } == bytes("x"))
            // The source is untouched.
            #expect(try allEntries(env, db).count == 500)
        }
    }

    @Test func copyIntoAMissingOrOccupiedDirectoryFailsClearly() throws {
        try withEnvironment { env, db, directory in
            try env.write { txn in try txn.put(bytes("v"), forKey: bytes("k"), in: db) }
            let absent = directory.appending("absent")
            expectError(.noSuchFile) { try env.copy(to: absent) }
            let target = try directory.makeDirectory("target")
            try env.copy(to: target)
            // A second copy does not overwrite the first.
            var failure: LMDBError?
            do {
                try env.copy(to: target)
            } catch let error as LMDBError {
                failure = error
            }
            #expect(failure?.operation == "mdb_env_copy2")
            #expect(failure?.path == target)
        }
    }

    @Test func copyWhileAWriterCommitsIsAConsistentSnapshot() throws {
        try withEnvironment(configure: { $0.durability = .noSync }) { env, db, directory in
            try env.write { txn in
                for i: UInt64 in 0..<2_000 { try txn.put(bigEndianKey(1), forKey: bigEndianKey(i), in: db) }
            }
            let target = try directory.makeDirectory("copy")
            let errors = ErrorLog()
            let finished = runOnThreads(2) { thread in
                do {
                    if thread == 0 {
                        // Each commit sets every value to the same generation.
                        for generation: UInt64 in 2..<30 {
                            try env.write { txn in
                                for i: UInt64 in 0..<2_000 {
                                    try txn.put(bigEndianKey(generation), forKey: bigEndianKey(i), in: db)
                                }
                            }
                        }
                    } else {
                        try env.copy(to: target)
                    }
                } catch {
                    errors.record(error)
                }
            }
            #expect(finished)
            #expect(errors.all == [])
            var options = EnvironmentOptions(path: target)
            options.databases = ["main"]
            let copy = try Environment(options)
            defer { copy.close() }
            let values = Set(try allEntries(copy, try copy.database("main")).map { bigEndianValue($0.1) })
            #expect(values.count == 1)
            #expect(try copy.read { try $0.count(of: copy.database("main")) } == 2_000)
        }
    }

    @Test func statisticsCountEntriesDepthAndPages() throws {
        try withEnvironment { env, db, _ in
            let empty = try env.statistics(of: db)
            #expect(empty.entries == 0)
            #expect(empty.depth == 0)
            #expect(empty.bytesUsed == 0)
            #expect(empty.pageSize >= 4_096 && empty.pageSize.nonzeroBitCount == 1)

            try env.write { txn in
                for i: UInt64 in 0..<10_000 {
                    try txn.put([UInt8](repeating: 1, count: 100), forKey: bigEndianKey(i), in: db)
                }
                // Two values too large for a leaf page.
                try txn.put([UInt8](repeating: 2, count: 3 * empty.pageSize), forKey: bytes("large1"), in: db)
                try txn.put([UInt8](repeating: 2, count: 3 * empty.pageSize), forKey: bytes("large2"), in: db)
            }
            let stats = try env.statistics(of: db)
            #expect(stats.entries == 10_002)
            #expect(stats.depth >= 2)
            #expect(stats.branchPages >= 1)
            // About 30 entries of 100 bytes fit in a 4 KiB leaf.
            #expect(stats.leafPages >= 10_000 * 108 / stats.pageSize)
            #expect(stats.overflowPages >= 2 * 4)
            #expect(stats.bytesUsed == (stats.branchPages + stats.leafPages + stats.overflowPages) * stats.pageSize)
            #expect(stats.bytesUsed > 10_000 * 108)
            // The same as a transaction sees them.
            #expect(try env.read { try $0.statistics(of: db) } == stats)
        }
    }

    @Test func infoReportsMapSizeTransactionsReadersAndUsedBytes() throws {
        try withEnvironment(configure: {
            $0.mapSize = 8 << 20
            $0.maxReaders = 50
        }) { env, db, directory in
            let before = try env.info()
            #expect(before.mapSize == 8 << 20)
            #expect(before.maxReaders == 50)
            #expect(before.pageSize >= 4_096)
            for i: UInt64 in 0..<3 {
                try env.write { try $0.put(bigEndianKey(i), forKey: bigEndianKey(i), in: db) }
            }
            let after = try env.info()
            #expect(after.lastTransactionID == before.lastTransactionID + 3)
            #expect(after.lastPage >= before.lastPage)
            #expect(after.usedBytes == (after.lastPage + 1) * after.pageSize)
            #expect(after.usedBytes <= (try fileSize(directory.appending("data.mdb"))))
            #expect(after.readersInUse >= 0 && after.readersInUse <= after.maxReaders)
            // A read open on this thread is counted.
            try env.read { _ throws in
                #expect(try env.info().readersInUse >= 1)
            }
        }
    }

    @Test func syncFlushesInEveryDurabilityMode() throws {
        for durability in [Durability.synced, .noMetaSync, .noSync] {
            try withEnvironment(configure: { $0.durability = durability }) { env, db, directory in
                try env.write { try $0.put(bytes("v"), forKey: bytes("k"), in: db) }
                try env.sync()
                try env.sync(force: false)
                #expect(try fileSize(directory.appending("data.mdb")) >= 2 * (try env.info().pageSize))
            }
        }
    }
}
