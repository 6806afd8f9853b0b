import Foundation
import LMDB
import Testing

@Suite("Round trips")
struct RoundTripTests {
    @Test func putThenGetReturnsTheValueAndDeleteRemovesIt() throws {
        try withEnvironment { env, db, _ in
            try env.write { txn throws in
                try txn.put(bytes("one"), forKey: bytes("k1"), in: db)
                try txn.put(bytes("two"), forKey: bytes("k2"), in: db)
            }
            try env.read { txn throws in
                #expect(try txn.get(bytes("k1"), in: db) == bytes("one"))
                #expect(try txn.get(bytes("k2"), in: db) == bytes("two"))
                #expect(try txn.get(bytes("k3"), in: db) == nil)
                #expect(try txn.contains(bytes("k1"), in: db))
                #expect(try !txn.contains(bytes("k3"), in: db))
                #expect(try txn.count(of: db) == 2)
            }
            let deleted = try env.write { txn throws in
                (try txn.delete(bytes("k1"), in: db), try txn.delete(bytes("missing"), in: db))
            }
            #expect(deleted == (true, false))
            try env.read { txn throws in
                #expect(try txn.get(bytes("k1"), in: db) == nil)
                #expect(try txn.get(bytes("k2"), in: db) == bytes("two"))
            }
        }
    }

    @Test func putReplacesAnExistingValue() throws {
        try withEnvironment { env, db, _ in
            try env.write { txn in try txn.put(bytes("old"), forKey: bytes("k"), in: db) }
            try env.write { txn in try txn.put(bytes("new value"), forKey: bytes("k"), in: db) }
            #expect(try env.read { try $0.get(bytes("k"), in: db) } == bytes("new value"))
        }
    }

    @Test func withValueLendsTheStoredBytesFromTheMemoryMap() throws {
        try withEnvironment { env, db, directory in
            let value = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            try env.write { txn in try txn.put(value, forKey: bytes("big"), in: db) }
            try env.read { txn throws in
                let lent = try txn.withValue(forKey: bytes("big"), in: db) { buffer in
                    (Array(buffer), Int(bitPattern: buffer.baseAddress))
                }
                let (copied, address) = try #require(lent)
                #expect(copied == value)
                #expect(try txn.withValue(forKey: bytes("absent"), in: db) { _ in 1 } == nil)
                #if os(Linux)
                // Zero-copy: the buffer lies inside the mapping of data.mdb.
                // The kernel may list the mapping as several adjacent areas. /proc/self/maps is
                // read in pieces, and other tests' threads map and unmap meanwhile, so one read
                // can miss lines: read again until the file's mapping is listed.
                var areas: [[Int]] = []
                for _ in 0..<20 where areas.isEmpty {
                    let maps = try String(contentsOfFile: "/proc/self/maps", encoding: .utf8)
                    areas = maps.split(separator: "\n").filter { $0.hasSuffix(directory.path + "/data.mdb") }.map {
                        $0.prefix { $0 != " " }.split(separator: "-").compactMap { Int($0, radix: 16) }
                    }
                }
                try #require(!areas.isEmpty && areas.allSatisfy { $0.count == 2 })
                func mapped(_ byte: Int) -> Bool { areas.contains { byte >= $0[0] && byte < $0[1] } }
                #expect(mapped(address) && mapped(address + value.count - 1))
                #endif
            }
        }
    }

    @Test func emptyValueRoundTrips() throws {
        try withEnvironment { env, db, _ in
            try env.write { txn in try txn.put([UInt8](), forKey: bytes("k"), in: db) }
            #expect(try env.read { try $0.get(bytes("k"), in: db) } == [])
        }
    }

    @Test func keysAndValuesMayBeSlicesOrBufferPointers() throws {
        try withEnvironment { env, db, _ in
            let backing = bytes("xxkeyxx")
            try env.write { txn throws in
                try txn.put(bytes("slice")[...], forKey: backing[2..<5], in: db)
                try backing.withUnsafeBytes { key in
                    try txn.put(
                        ContiguousArray(bytes("raw")), forKey: UnsafeRawBufferPointer(rebasing: key[0..<2]), in: db)
                }
            }
            try env.read { txn throws in
                #expect(try txn.get(bytes("key"), in: db) == bytes("slice"))
                #expect(try txn.get(bytes("xx"), in: db) == bytes("raw"))
            }
        }
    }

    @Test func noOverwritePutOfAnExistingKeyThrowsKeyExistsAndKeepsTheOldValue() throws {
        try withEnvironment { env, db, _ in
            try env.write { txn in try txn.put(bytes("first"), forKey: bytes("k"), in: db) }
            var caught = false
            do {
                try env.write { txn throws in
                    try txn.put(bytes("second"), forKey: bytes("k"), in: db, flags: .noOverwrite)
                }
            } catch LMDBError.Code.keyExists {
                caught = true
            }
            #expect(caught)
            #expect(try env.read { try $0.get(bytes("k"), in: db) } == bytes("first"))
            // A fresh key is stored.
            try env.write { txn throws in
                try txn.put(bytes("v"), forKey: bytes("other"), in: db, flags: .noOverwrite)
            }
            #expect(try env.read { try $0.get(bytes("other"), in: db) } == bytes("v"))
        }
    }

    @Test func keyExistsCaughtInsideTheWriteLeavesTheTransactionUsable() throws {
        try withEnvironment { env, db, _ in
            try env.write { txn throws in
                try txn.put(bytes("a"), forKey: bytes("k"), in: db)
                let error = #expect(throws: LMDBError.self) {
                    try txn.put(bytes("b"), forKey: bytes("k"), in: db, flags: .noOverwrite)
                }
                #expect(error?.code == .keyExists)
                #expect(error?.database == "main")
                try txn.put(bytes("c"), forKey: bytes("k2"), in: db)
            }
            #expect(try allEntries(env, db).map(\.1) == [bytes("a"), bytes("c")])
        }
    }

    @Test func appendAcceptsIncreasingKeysAndRejectsAnOutOfOrderKey() throws {
        try withEnvironment { env, db, _ in
            try env.write { txn throws in
                for i: UInt64 in 0..<1_000 {
                    try txn.put(bigEndianKey(i * 2), forKey: bigEndianKey(i * 2), in: db, flags: .append)
                }
            }
            #expect(try env.read { try $0.count(of: db) } == 1_000)
            let error = #expect(throws: LMDBError.self) {
                try env.write { txn throws in
                    try txn.put(bytes("late"), forKey: bigEndianKey(7), in: db, flags: .append)
                }
            }
            #expect(error?.code == .keyExists)
            // An equal key is out of order too.
            #expect(throws: LMDBError.self) {
                try env.write { txn throws in
                    try txn.put(bytes("same"), forKey: bigEndianKey(1_998), in: db, flags: .append)
                }
            }
            #expect(try env.read { try $0.count(of: db) } == 1_000)
            #expect(try env.read { try $0.get(bigEndianKey(7), in: db) } == nil)
        }
    }

    @Test func reservedPutStoresWhatTheFillClosureWrites() throws {
        try withEnvironment { env, db, _ in
            try env.write { txn throws in
                try txn.put(reserving: 20_000, forKey: bytes("reserved"), in: db) { buffer in
                    #expect(buffer.count == 20_000)
                    for i in buffer.indices { buffer[i] = UInt8(truncatingIfNeeded: i) }
                }
                try txn.put(reserving: 3, forKey: bytes("small"), in: db) { buffer in
                    buffer.copyBytes(from: bytes("abc"))
                }
            }
            try env.read { txn throws in
                let value = try #require(try txn.get(bytes("reserved"), in: db))
                #expect(value == (0..<20_000).map { UInt8(truncatingIfNeeded: $0) })
                #expect(try txn.get(bytes("small"), in: db) == bytes("abc"))
            }
        }
    }

    @Test func clearEmptiesTheDatabaseButKeepsIt() throws {
        try withEnvironment { env, db, _ in
            try env.write { txn throws in
                for i: UInt64 in 0..<100 { try txn.put(bigEndianKey(i), forKey: bigEndianKey(i), in: db) }
            }
            try env.write { txn in try txn.clear(db) }
            #expect(try env.read { try $0.count(of: db) } == 0)
            try env.write { txn in try txn.put(bytes("v"), forKey: bytes("k"), in: db) }
            #expect(try env.read { try $0.count(of: db) } == 1)
        }
    }

    @Test func namedDatabasesAreSeparateKeySpaces() throws {
        try withEnvironment(configure: { $0.databases += ["a", "b"] }) { env, _, _ in
            let a = try env.database("a")
            let b = try env.database("b")
            #expect(env.allDatabases.map(\.name) == ["a", "b", "main"])
            try env.write { txn throws in
                try txn.put(bytes("in a"), forKey: bytes("k"), in: a)
                try txn.put(bytes("in b"), forKey: bytes("k"), in: b)
            }
            try env.read { txn throws in
                #expect(try txn.get(bytes("k"), in: a) == bytes("in a"))
                #expect(try txn.get(bytes("k"), in: b) == bytes("in b"))
            }
        }
    }

    @Test func writeReturnsTheClosuresValue() throws {
        try withEnvironment { env, db, _ in
            let stored = try env.write { txn throws -> Int in
                try txn.put(bytes("v"), forKey: bytes("k"), in: db)
                return 42
            }
            #expect(stored == 42)
        }
    }
}
