import DSMR
import DSMRTestSupport
import Foundation

/// One way of damaging a copy of a store, applied to its directory.
///
/// Page numbers and offsets are chosen by the campaign from a seed; the
/// damage itself is deterministic, so a failing copy can be made again from
/// its description.
enum StoreDamage: CustomStringConvertible {
    /// XORs the byte at `offset` of `data.mdb` with `mask` (never 0).
    case flipByte(offset: Int, mask: UInt8)
    /// Overwrites page `page` of `data.mdb` with zeros.
    case zeroPage(page: Int, kind: String)
    /// Overwrites page `page` of `data.mdb` with bytes drawn from `seed`.
    case randomPage(page: Int, kind: String, seed: UInt64)
    /// Cuts `data.mdb` to `length` bytes.
    case truncate(length: Int)
    /// Appends `length` bytes drawn from `seed` to `data.mdb`.
    case extend(length: Int, seed: UInt64)
    /// Replaces `lock.mdb` with 8 KiB drawn from `seed`.
    case garbageLock(seed: UInt64)
    /// Replaces `data.mdb` with 64 KiB of text.
    case notLMDB
    /// Removes the whole directory.
    case missingDirectory

    var description: String {
        switch self {
        case .flipByte(let offset, let mask): return "byte \(offset) xor 0x\(String(mask, radix: 16))"
        case .zeroPage(let page, let kind): return "zeroed page \(page) (\(kind))"
        case .randomPage(let page, let kind, let seed): return "random page \(page) (\(kind), seed \(seed))"
        case .truncate(let length): return "data.mdb truncated to \(length) bytes"
        case .extend(let length, _): return "data.mdb extended by \(length) bytes"
        case .garbageLock: return "garbage lock.mdb"
        case .notLMDB: return "data.mdb is not LMDB"
        case .missingDirectory: return "missing directory"
        }
    }

    /// Whether nothing is left to read (exit 1, unreadable, is then right).
    var removesTheStore: Bool {
        if case .missingDirectory = self { return true }
        return false
    }

    /// Applies the damage to the store in `directory` whose page size is
    /// `pageSize`.
    func apply(to directory: String, pageSize: Int) throws {
        let data = directory + "/data.mdb"
        switch self {
        case .flipByte(let offset, let mask):
            try patch(data) { bytes in bytes[offset] ^= mask }
        case .zeroPage(let page, _):
            try patch(data) { bytes in
                bytes.replaceSubrange(page * pageSize..<(page + 1) * pageSize, with: repeatElement(0, count: pageSize))
            }
        case .randomPage(let page, _, let seed):
            var generator = SeededGenerator(seed: seed)
            try patch(data) { bytes in
                bytes.replaceSubrange(page * pageSize..<(page + 1) * pageSize, with: generator.bytes(pageSize))
            }
        case .truncate(let length):
            guard Foundation.truncate(data, off_t(length)) == 0 else {
                throw TestFailure("truncate \(data): errno \(errno)")
            }
        case .extend(let length, let seed):
            var generator = SeededGenerator(seed: seed)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: data))
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(generator.bytes(length)))
        case .garbageLock(let seed):
            var generator = SeededGenerator(seed: seed)
            try Data(generator.bytes(8 << 10)).write(to: URL(fileURLWithPath: directory + "/lock.mdb"))
        case .notLMDB:
            let text = String(repeating: "this is not an LMDB environment\n", count: 2_048)
            try Data(text.utf8).write(to: URL(fileURLWithPath: data))
        case .missingDirectory:
            try FileManager.default.removeItem(atPath: directory)
        }
    }

    private func patch(_ path: String, _ change: (inout [UInt8]) -> Void) throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        change(&bytes)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}

/// The pages of an LMDB data file, classified by their page headers (the
/// 16-byte `MDB_page` header: page number, pad, flags, bounds).
struct PageMap {
    let pageSize: Int
    let pageCount: Int
    /// Page numbers by kind: `meta`, `branch`, `leaf`, `overflow`, `free`
    /// (anything else: free or continuation pages of overflow runs).
    let pages: [String: [Int]]

    init(dataFile: String) throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dataFile)))
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        // The meta page's MDB_meta starts after the 16-byte header; the page
        // size is the first field of its first MDB_db (8 bytes in).
        pageSize = Int(bytes[40]) | Int(bytes[41]) << 8 | Int(bytes[42]) << 16 | Int(bytes[43]) << 24
        pageCount = bytes.count / pageSize
        let size = pageSize
        var pages: [String: [Int]] = [:]
        for page in 0..<bytes.count / size {
            let flags = u16(page * size + 10) & 0x0f
            let number = (0..<8).reduce(0) { $0 | Int(bytes[page * size + $1]) << (8 * $1) }
            let kind: String
            switch flags {
            case _ where number != page: kind = "free"
            case 0x08: kind = "meta"
            case 0x01: kind = "branch"
            case 0x02: kind = "leaf"
            case 0x04: kind = "overflow"
            default: kind = "free"
            }
            pages[kind, default: []].append(page)
        }
        self.pages = pages
    }
}
