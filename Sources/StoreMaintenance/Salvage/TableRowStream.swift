import ChunkStore
import DSMR
import Foundation
import LMDB

/// Rows of one table read in batches, each in a read transaction of its own
/// (LMDB refuses every later read in a transaction that met damage), and
/// their framing between a salvage child and its parent: `R` key length
/// (4) key value length (4) value per row, then `D` when the pass reached
/// the table's end or `E` length (4) message when reading failed.
enum TableRowStream {
    static let batchSize = 256

    /// Up to `limit` rows after `from` (ascending; nil: from the start) and
    /// below `bound`, or, with `reverse`, below `from` (descending; nil: from
    /// the end) and above `bound`; and why reading stopped early, if it did.
    static func batch(
        _ environment: Environment, table: String, from: [UInt8]?, bound: [UInt8]?, reverse: Bool, limit: Int
    ) -> (rows: [DamagedTableReader.CopiedRow], failure: String?) {
        var rows: [DamagedTableReader.CopiedRow] = []
        do {
            let database = try environment.database(table)
            try environment.read { txn in
                try txn.withCursor(on: database) { cursor in
                    var entry: Entry?
                    if reverse {
                        entry = try from.map { try cursor.seek(below: $0) } ?? cursor.last()
                    } else if let from {
                        entry = try cursor.seek(atLeast: from)
                        if let found = entry, found.key.elementsEqual(from) { entry = try cursor.next() }
                    } else {
                        entry = try cursor.first()
                    }
                    var previous = from
                    while let current = entry {
                        let key = Array(current.key)
                        if let bound,
                            reverse ? !bound.lexicographicallyPrecedes(key) : !key.lexicographicallyPrecedes(bound)
                        {
                            return
                        }
                        let ordered = previous.map {
                            reverse ? key.lexicographicallyPrecedes($0) : $0.lexicographicallyPrecedes(key)
                        }
                        if let previous, ordered == false {
                            throw ChunkStoreError(.corruptRecord, "keys out of order after \(Hex.encode(previous))")
                        }
                        rows.append(DamagedTableReader.CopiedRow(key: key, value: Array(current.value)))
                        // Stop before moving on: the move may be what fails.
                        if rows.count == limit { return }
                        previous = key
                        entry = try reverse ? cursor.previous() : cursor.next()
                    }
                }
            }
            return (rows, nil)
        } catch {
            return (rows, "\(error)")
        }
    }

    // MARK: the child's side

    /// Writes the rows of one pass to standard output as frames, each row as
    /// soon as it is read, so a fault loses no row already handed over.
    static func write(
        _ environment: Environment, table: String, after: [UInt8]?, before: [UInt8]?, reverse: Bool
    ) {
        var position: [UInt8]? = reverse ? before : after
        while true {
            // One row per batch: the parent holds every row read before a fault.
            let batch = Self.batch(
                environment, table: table, from: position, bound: reverse ? after : before, reverse: reverse, limit: 1)
            for row in batch.rows {
                var frame: [UInt8] = [UInt8(ascii: "R")]
                frame += length(row.key.count) + row.key + length(row.value.count) + row.value
                writeOut(frame)
            }
            position = batch.rows.last?.key ?? position
            if let failure = batch.failure {
                let message = Array(failure.utf8)
                writeOut([UInt8(ascii: "E")] + length(message.count) + message)
                return
            }
            if batch.rows.isEmpty {
                writeOut([UInt8(ascii: "D")])
                return
            }
        }
    }

    /// Writes `N` and the number of rows the table's record in LMDB claims
    /// (8 bytes), or nothing when it cannot be read.
    static func writeCount(_ environment: Environment, table: String) {
        guard let database = try? environment.database(table),
            let count = try? environment.read({ txn in try txn.count(of: database) })
        else { return }
        writeOut([UInt8(ascii: "N")] + withUnsafeBytes(of: UInt64(count).bigEndian) { Array($0) })
    }

    private static func length(_ count: Int) -> [UInt8] {
        withUnsafeBytes(of: UInt32(count).bigEndian) { Array($0) }
    }

    private static func writeOut(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Foundation.write(1, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 { if errno == EINTR { continue } else { exit(1) } }
                offset += written
            }
        }
    }

    // MARK: the parent's side

    /// Runs a child for one pass and hands its rows to `body` in batches;
    /// returns why the pass stopped early (an error the child reported, or
    /// the signal it died by), or nil when it reached the table's end.
    static func readChild(
        executable: String, arguments: [String], watchdog: Double,
        _ body: ([DamagedTableReader.CopiedRow]) async throws -> Void
    ) async throws -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw ChunkStoreError(.io, "cannot start the salvage reader \(executable): \(error)")
        }
        let handle = output.fileHandleForReading
        var buffer: [UInt8] = []
        var consumed = 0
        var rows: [DamagedTableReader.CopiedRow] = []
        var end: String??
        var hung = false
        var lastProgress = ContinuousClock.now
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while end == nil {
            // Wait for output at most a tenth of a second at a time, so a
            // reader that hangs (LMDB looping on a damaged page) is stopped.
            // (The wait holds this thread: a sleeping task might not be
            // resumed in time on a busy machine, and the watchdog would be late.)
            var poller = pollfd(fd: handle.fileDescriptor, events: Int16(POLLIN), revents: 0)
            if poll(&poller, 1, 100) == 0 {
                if ContinuousClock.now - lastProgress > .milliseconds(Int64(watchdog * 1_000)) {
                    process.terminate()
                    kill(process.processIdentifier, SIGKILL)
                    hung = true
                    break
                }
                continue
            }
            let count = read(handle.fileDescriptor, &chunk, chunk.count)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            lastProgress = ContinuousClock.now
            buffer.removeFirst(consumed)
            consumed = 0
            buffer += chunk[..<count]
            while end == nil, let (frame, size) = parse(buffer[consumed...]) {
                consumed += size
                switch frame {
                case .row(let row): rows.append(row)
                case .done: end = .some(nil)
                case .failed(let message): end = .some(message)
                }
            }
            if rows.count >= batchSize {
                try await body(rows)
                rows.removeAll(keepingCapacity: true)
            }
        }
        if !rows.isEmpty { try await body(rows) }
        try? handle.close()
        // Not `waitUntilExit()`: it would hold this thread, one of the few
        // that run every task, for as long as the child takes to be reaped.
        while process.isRunning { try? await Task.sleep(for: .milliseconds(5)) }
        if let end { return end }
        if hung { return "the reading process made no progress for \(watchdog) s and was stopped" }
        if process.terminationReason == .uncaughtSignal {
            return "the reading process died by signal \(process.terminationStatus)"
        }
        return "the reading process exited with status \(process.terminationStatus) before the table's end"
    }

    /// Runs a child that writes the number of rows a table claims; nil when
    /// it does not say.
    static func countChild(executable: String, arguments: [String]) -> Int? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let bytes = [UInt8](output.fileHandleForReading.readDataToEndOfFile())
        process.waitUntilExit()
        guard bytes.count == 9, bytes[0] == UInt8(ascii: "N") else { return nil }
        return Int(exactly: bytes[1...].reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
    }

    private enum Frame {
        case row(DamagedTableReader.CopiedRow)
        case done
        case failed(String)
    }

    /// The frame at the start of `bytes` and its size, or nil when it is not
    /// complete yet.
    private static func parse(_ bytes: ArraySlice<UInt8>) -> (Frame, Int)? {
        guard let tag = bytes.first else { return nil }
        var offset = bytes.startIndex + 1
        func field() -> [UInt8]? {
            guard bytes.endIndex - offset >= 4 else { return nil }
            let count = bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
            guard bytes.endIndex - offset - 4 >= count else { return nil }
            defer { offset += 4 + count }
            return Array(bytes[offset + 4..<offset + 4 + count])
        }
        switch tag {
        case UInt8(ascii: "D"):
            return (.done, 1)
        case UInt8(ascii: "E"):
            guard let message = field() else { return nil }
            return (.failed(String(decoding: message, as: UTF8.self)), offset - bytes.startIndex)
        case UInt8(ascii: "R"):
            guard let key = field(), let value = field() else { return nil }
            return (.row(DamagedTableReader.CopiedRow(key: key, value: value)), offset - bytes.startIndex)
        default:
            return (.failed("the reading process wrote a frame of unknown kind \(tag)"), bytes.count)
        }
    }
}
