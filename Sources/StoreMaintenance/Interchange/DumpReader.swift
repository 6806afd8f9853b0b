import ChunkStore
import Crypto
import DSMR
import Foundation

/// Reads a store dump through one descriptor, once: every byte is hashed as
/// it is read, and every length is checked against what is left of the file
/// before anything is allocated for it, so a file swapped or changed under
/// the reader can only make it fail, never read other bytes than it hashed.
final class DumpReader {
    /// One row of a dump.
    struct Row {
        let table: Int
        let key: [UInt8]
        let value: [UInt8]
    }

    let path: String
    /// The file's size when it was opened.
    let size: Int
    private let descriptor: Int32
    private var hasher = SHA256()
    private var buffer: [UInt8] = []
    private var position = 0
    /// How many bytes have been read.
    private(set) var offset = 0

    /// Opens the dump at `path`, which must be a regular file (`O_NONBLOCK`,
    /// so a FIFO cannot hang the open).
    init(path: String) throws {
        self.path = path
        descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileSystem.ioError("cannot open the dump", path) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            close(descriptor)
            throw FileSystem.ioError("cannot stat the dump", path)
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            close(descriptor)
            throw ChunkStoreError(.badInterchange, "\(path) is not a regular file")
        }
        size = Int(info.st_size)
    }

    deinit { close(descriptor) }

    private func failure(_ message: String) -> ChunkStoreError {
        ChunkStoreError(.badInterchange, "\(path): \(message)")
    }

    /// Reads exactly `count` bytes, hashed unless `hashed` is false.
    func take(_ count: Int, _ what: String, hashed: Bool = true) throws -> [UInt8] {
        guard count >= 0, count <= size - offset else {
            throw failure("\(what) of \(count) bytes at byte \(offset) runs past the end (\(size) bytes)")
        }
        var result: [UInt8] = []
        result.reserveCapacity(count)
        while result.count < count {
            if position == buffer.count {
                try refill()
                if buffer.isEmpty { throw failure("ends at byte \(offset) inside \(what); it shrank while being read") }
            }
            let take = min(count - result.count, buffer.count - position)
            result.append(contentsOf: buffer[position..<position + take])
            position += take
            offset += take
        }
        if hashed { hasher.update(data: result) }
        return result
    }

    /// Reads a big-endian 32-bit length.
    func length(_ what: String) throws -> Int {
        Int(try take(4, what).reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
    }

    /// Reads and checks the header: magic, dump format and schema version.
    func header() throws {
        let header = try take(StoreDump.header().count, "the header")
        guard Array(header[0..<8]) == StoreDump.magic else { throw failure("not a store dump (bad magic)") }
        // Dumps of every schema version this build reads load: their rows are.
        let expected = StoreDump.header()
        let schema = header.suffix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard header.prefix(expected.count - 4).elementsEqual(expected.prefix(expected.count - 4)),
            Schema.readable.contains(schema)
        else {
            throw failure("another dump format or a schema version this build does not read")
        }
    }

    /// The next row, the `number`th, or nil at the end marker. The table
    /// must be one of `tables` (names in schema order); the key 1 to
    /// `StoreDump.maxKeyBytes` bytes; the value at most `largestValue(name)`
    /// bytes (the largest its table can legally hold, checked before it is
    /// read) and no longer than what is left of the file.
    func row(number: Int, tables: [String], largestValue: (String) -> Int) throws -> Row? {
        let start = offset
        let table = try take(1, "a row's table")[0]
        if table == StoreDump.endMarker { return nil }
        guard Int(table) < tables.count else { throw failure("unknown table \(table) at byte \(start)") }
        let keyLength = try length("a key length")
        guard keyLength >= 1, keyLength <= StoreDump.maxKeyBytes else {
            throw failure("key length \(keyLength) at byte \(offset - 4) is outside 1...\(StoreDump.maxKeyBytes)")
        }
        let key = try take(keyLength, "a key")
        let name = tables[Int(table)]
        let valueLength = try length("a value length")
        let largest = largestValue(name)
        guard valueLength <= largest else {
            throw failure(
                "row \(number) (\(name), key \(Hex.encode(key.prefix(64)))) declares a value of \(valueLength) bytes "
                    + "at byte \(offset - 4); a \(name) value is at most \(largest) bytes")
        }
        let value = try take(valueLength, "a value")
        return Row(table: Int(table), key: key, value: value)
    }

    /// Reads the stored checksum and checks it against the bytes read, and
    /// that nothing follows it.
    func finish() throws {
        let expected = Array(hasher.finalize())
        let stored = try take(32, "the checksum", hashed: false)
        guard stored == expected else { throw failure("the checksum does not match; the file is damaged") }
        guard offset == size else { throw failure("\(size - offset) bytes follow the checksum") }
        if position == buffer.count { try refill() }
        guard position == buffer.count else { throw failure("bytes were appended while it was being read") }
    }

    private func refill() throws {
        buffer = [UInt8](repeating: 0, count: 1 << 20)
        position = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { Platform.read(descriptor, $0.baseAddress!, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw FileSystem.ioError("cannot read the dump", path)
            }
            buffer.removeSubrange(count...)
            return
        }
    }
}
