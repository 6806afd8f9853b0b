import DSMRTestSupport
import Dispatch
import Foundation
import LMDB
import Synchronization
import Testing

/// Runs `body` with an environment opened in a fresh temporary directory
/// (database "main" declared), closing it and removing the directory
/// afterwards.
func withEnvironment<R>(
    configure: (inout EnvironmentOptions) -> Void = { _ in },
    _ body: (Environment, Database, TemporaryDirectory) throws -> R
) throws -> R {
    try withTemporaryDirectory { directory in
        var options = EnvironmentOptions(path: directory.path)
        options.databases = ["main"]
        configure(&options)
        let environment = try Environment(options)
        defer { environment.close() }
        return try body(environment, try environment.database("main"), directory)
    }
}

/// The 8 big-endian bytes of `value`: byte order is numeric order.
func bigEndianKey(_ value: UInt64) -> [UInt8] {
    withUnsafeBytes(of: value.bigEndian) { Array($0) }
}

/// The number in 8 big-endian bytes.
func bigEndianValue(_ bytes: some Collection<UInt8>) -> UInt64 {
    bytes.reduce(0) { $0 << 8 | UInt64($1) }
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Runs `count` bodies on real threads at once and waits for them, at most
/// `timeout` seconds. Returns false when they did not all finish in time (a
/// deadlock): the stuck threads are left behind.
@discardableResult
func runOnThreads(
    _ count: Int, timeout: Double = 60, _ body: @escaping @Sendable (Int) -> Void
) -> Bool {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        let thread = Thread {
            body(index)
            group.leave()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
    return group.wait(timeout: .now() + timeout) == .success
}

/// Errors seen on other threads, checked once they are joined (Swift
/// Testing's issue recording needs the test's task context).
final class ErrorLog: Sendable {
    private let errors = Mutex<[String]>([])

    func record(_ error: any Error, _ context: String = "") {
        errors.withLock { $0.append("\(context)\(error)") }
    }

    func record(_ message: String) {
        errors.withLock { $0.append(message) }
    }

    var all: [String] { errors.withLock { $0 } }
}

/// The size of the file at `path`.
func fileSize(_ path: String) throws -> Int {
    var info = stat()
    guard stat(path, &info) == 0 else {
        throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
    }
    return Int(info.st_size)
}

/// Every entry of `database` as copied (key, value) pairs, in key order.
func allEntries(_ environment: Environment, _ database: Database) throws -> [([UInt8], [UInt8])] {
    try environment.read { txn throws in
        var entries: [([UInt8], [UInt8])] = []
        try txn.scan(database) { entry in
            entries.append((entry.keyBytes, entry.valueBytes))
            return .next
        }
        return entries
    }
}

/// The keys of `database` in scan order.
func allKeys(_ environment: Environment, _ database: Database, reverse: Bool = false) throws -> [[UInt8]] {
    try environment.read { txn throws in
        var keys: [[UInt8]] = []
        try txn.scan(database, reverse: reverse) { entry in
            keys.append(entry.keyBytes)
            return .next
        }
        return keys
    }
}

/// Expects `body` to throw an `LMDBError` with `code`.
func expectError(
    _ code: LMDBError.Code, _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> Void
) {
    let error = #expect(throws: LMDBError.self, comment, sourceLocation: sourceLocation) { try body() }
    #expect(error?.code == code, comment, sourceLocation: sourceLocation)
}
