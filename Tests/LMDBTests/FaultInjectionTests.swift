import DSMRTestSupport
import Foundation
@testable import LMDB
import Testing

@Suite("Injected write faults")
struct FaultInjectionTests {
    /// Opens, writes "k" = "v", runs `body`, closes, reopens and returns
    /// the reopened environment's entries.
    private func afterReopen(
        _ body: (Environment, Database) throws -> Void
    ) throws -> [([UInt8], [UInt8])] {
        try withTemporaryDirectory { directory in
            var options = EnvironmentOptions(path: directory.path)
            options.databases = ["main"]
            do {
                let env = try Environment(options)
                defer { env.close() }
                let db = try env.database("main")
                try env.write { try $0.put(bytes("v"), forKey: bytes("k"), in: db) }
                try body(env, db)
            }
            let env = try Environment(options)
            defer { env.close() }
            let db = try env.database("main")
            // A reopened environment writes again.
            try env.write { try $0.put(bytes("after"), forKey: bytes("reopened"), in: db) }
            return try allEntries(env, db)
        }
    }

    @Test(arguments: [LMDBError.Code.ioError, .noSpace])
    func failedPutAbortsTheWriteAndFailsTheWriterClosed(_ code: LMDBError.Code) throws {
        let entries = try afterReopen { env, db throws in
            env.faults.arm(.put, failingCall: 2, with: code)
            expectError(code) {
                try env.write { txn in
                    try txn.put(bytes("1"), forKey: bytes("a"), in: db)
                    // Swallowed on purpose: the environment must still notice.
                    try? txn.put(bytes("2"), forKey: bytes("b"), in: db)
                }
            }
            #expect(env.faults.firedCount == 1)
            #expect(env.writeFailure?.code == code)
            expectError(.writerFailed) { try env.write { try $0.put(bytes("x"), forKey: bytes("x"), in: db) } }
            #expect(try env.read { try $0.get(bytes("k"), in: db) } == bytes("v"), "reads go on")
        }
        #expect(entries.map(\.0) == [bytes("k"), bytes("reopened")])
    }

    @Test func failedCommitKeepsNothingAndFailsTheWriterClosed() throws {
        let entries = try afterReopen { env, db throws in
            env.faults.arm(.commit, failingCall: 1, with: .ioError)
            expectError(.ioError) { try env.write { try $0.put(bytes("1"), forKey: bytes("a"), in: db) } }
            #expect(try env.read { try $0.get(bytes("a"), in: db) } == nil)
            expectError(.writerFailed) { try env.write { try $0.put(bytes("x"), forKey: bytes("x"), in: db) } }
        }
        #expect(entries.map(\.0) == [bytes("k"), bytes("reopened")])
    }

    /// A failed sync after the commit: the caller is told it failed, though
    /// the state it wrote may well be there; later writes are refused.
    @Test func failedSyncIsReportedAndFailsTheWriterClosed() throws {
        let entries = try afterReopen { env, db throws in
            env.faults.arm(.sync, failingCall: 1, with: .ioError)
            expectError(.ioError) { try env.write { try $0.put(bytes("1"), forKey: bytes("a"), in: db) } }
            expectError(.writerFailed) { try env.write { try $0.put(bytes("x"), forKey: bytes("x"), in: db) } }
        }
        #expect(entries.map(\.0) == [bytes("a"), bytes("k"), bytes("reopened")])
    }

    /// MAP_FULL at the map's ceiling is clean: the write fails with
    /// `mapFull`, and later writes that fit still work.
    @Test func mapFullAtTheCeilingFailsOneWriteOnly() throws {
        try withEnvironment(configure: {
            $0.mapSize = 1 << 20
            $0.maxMapSize = 1 << 20
        }) { env, db, _ in
            env.faults.arm(.put, failingCall: 1, with: .mapFull)
            expectError(.mapFull) { try env.write { try $0.put(bytes("1"), forKey: bytes("a"), in: db) } }
            #expect(env.writeFailure == nil)
            try env.write { try $0.put(bytes("2"), forKey: bytes("b"), in: db) }
            #expect(try allEntries(env, db).map(\.0) == [bytes("b")])
        }
    }

    @Test func unarmedSwitchChangesNothing() throws {
        try withEnvironment { env, db, _ in
            env.faults.arm(.commit, failingCall: 3, with: .ioError)
            env.faults.disarm()
            for i: UInt64 in 0..<5 { try env.write { try $0.put(bigEndianKey(i), forKey: bigEndianKey(i), in: db) } }
            #expect(env.faults.firedCount == 0)
            #expect(try env.read { try $0.count(of: db) } == 5)
        }
    }
}
