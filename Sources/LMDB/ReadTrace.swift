import SystemC
import Synchronization

/// Where this process's reads have got to, kept in a shared file mapping that
/// another process can read, even after this one died.
///
/// A tool that reads an untrusted environment in a child process installs the
/// trace in the child; every cursor move and key lookup then records the
/// database and key (one relaxed atomic load when no trace is installed).
/// When the child dies by a signal, the parent reads the last position and
/// can say in which table, after which key, the damage lies; the step count
/// tells a watchdog that the child still makes progress.
///
/// The record is written without locks by the reading thread; a reader in
/// another process may see a torn key while the child runs, never after it
/// died. With several reading threads the record shows one of them.
package enum ReadTrace {
    /// One recorded position.
    package struct Position: Sendable, Hashable {
        /// Cursor moves and lookups so far.
        package let steps: UInt64
        /// The database last read.
        package let database: String
        /// The key last read (or, for a lookup, looked for).
        package let key: [UInt8]
        /// Whether `key` was being looked up (the lookup may not have
        /// finished) rather than read by a cursor.
        package let lookingUp: Bool
    }

    /// The size of the shared record; the file must be at least this long.
    package static let recordSize = 4_096
    private static let nameLimit = 64
    private static let keyLimit = 1_024
    /// The mapping's address (0 when no trace is installed).
    private static let base = Atomic<Int>(0)

    /// Maps the file open at `fileDescriptor` (at least `recordSize` bytes)
    /// and records every later read of this process into it.
    ///
    /// The corresponding C function is `mmap`.
    package static func install(fileDescriptor: Int32) throws(LMDBError) {
        let mapped = mmap(nil, recordSize, PROT_READ | PROT_WRITE, MAP_SHARED, fileDescriptor, 0)
        guard let mapped, mapped != MAP_FAILED else {
            throw LMDBError(
                LMDBError.Code(rawValue: errno), operation: "mmap", message: "cannot map the read trace")
        }
        base.store(Int(bitPattern: mapped), ordering: .releasing)
    }

    /// Reads the record in the file open at `fileDescriptor`; nil before the
    /// first read was recorded.
    package static func read(fileDescriptor: Int32) -> Position? {
        var bytes = [UInt8](repeating: 0, count: recordSize)
        let got = bytes.withUnsafeMutableBytes { pread(fileDescriptor, $0.baseAddress!, recordSize, 0) }
        guard got == recordSize else { return nil }
        let steps = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[$1]) << (8 * UInt64($1)) }
        guard steps > 0 else { return nil }
        let nameLength = min(Int(bytes[8]), nameLimit)
        let keyLength = min(Int(bytes[10]) | Int(bytes[11]) << 8, keyLimit)
        return Position(
            steps: steps, database: String(decoding: bytes[16..<16 + nameLength], as: UTF8.self),
            key: Array(bytes[96..<96 + keyLength]), lookingUp: bytes[9] != 0)
    }

    /// Records a read of `key` in `database`.
    @inline(__always)
    static func record(_ database: Database, key: UnsafeRawBufferPointer, lookingUp: Bool = false) {
        guard let base = UnsafeMutableRawPointer(bitPattern: base.load(ordering: .acquiring)) else { return }
        write(base, database.name, key, lookingUp)
    }

    private static func write(
        _ base: UnsafeMutableRawPointer, _ name: String, _ key: UnsafeRawBufferPointer, _ lookingUp: Bool
    ) {
        let nameBytes = Array(name.utf8.prefix(nameLimit))
        let keyCount = min(key.count, keyLimit)
        base.storeBytes(of: UInt8(nameBytes.count), toByteOffset: 8, as: UInt8.self)
        base.storeBytes(of: lookingUp ? 1 : 0, toByteOffset: 9, as: UInt8.self)
        base.storeBytes(of: UInt8(keyCount & 0xff), toByteOffset: 10, as: UInt8.self)
        base.storeBytes(of: UInt8(keyCount >> 8), toByteOffset: 11, as: UInt8.self)
        nameBytes.withUnsafeBytes { bytes in
            if let start = bytes.baseAddress { (base + 16).copyMemory(from: start, byteCount: bytes.count) }
        }
        if keyCount > 0, let start = key.baseAddress { (base + 96).copyMemory(from: start, byteCount: keyCount) }
        let steps = UInt64(littleEndian: base.load(as: UInt64.self)) &+ 1
        base.storeBytes(of: steps.littleEndian, as: UInt64.self)
    }
}
