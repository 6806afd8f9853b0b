import DSMRTestSupport
import Foundation
import LMDB
import Testing

@Suite("A write transaction's usability")
struct UsableTransactionTests {
    private struct Abort: Error {}

    /// A read that meets a damaged page inside a write transaction marks the
    /// transaction unusable in LMDB even when the caller catches the error;
    /// `isUsable` sees it, and is true in a sound transaction.
    @Test func aCaughtReadOfADamagedPageLeavesTheTransactionUnusable() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var options = EnvironmentOptions(path: directory.path)
        options.databases = ["main"]
        let key = Array("key-0300".utf8)
        do {
            let env = try Environment(options)
            defer { env.close() }
            let db = try env.database("main")
            try env.write { txn in
                for index in 0..<600 {
                    let name = Array(String(format: "key-%04d", index).utf8)
                    try txn.put([UInt8](repeating: 7, count: 100), forKey: name, in: db)
                }
            }
        }
        // Zero the page that holds the key (a leaf, or a branch naming it).
        let file = directory.appending("data.mdb")
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let at = try #require(
            (2 * pageSize..<bytes.count - key.count).first { bytes[$0..<$0 + key.count].elementsEqual(key) })
        let page = at / pageSize * pageSize
        bytes.replaceSubrange(page..<page + pageSize, with: repeatElement(0, count: pageSize))
        try Data(bytes).write(to: URL(fileURLWithPath: file))

        let env = try Environment(options)
        defer { env.close() }
        let db = try env.database("main")
        var usableBefore = false
        var readError: (any Error)?
        var usableAfter = true
        do {
            try env.write { txn in
                usableBefore = txn.isUsable
                do { _ = try txn.get(key, in: db) } catch { readError = error }
                usableAfter = txn.isUsable
                throw Abort()
            }
        } catch is Abort {}
        #expect(usableBefore)
        #expect(readError is LMDBError, "the read of the zeroed page: \(String(describing: readError))")
        #expect(!usableAfter)
    }
}
