/// One of the two meta pages at the start of an LMDB data file, as read from
/// disk (LMDB 0.9's `MDB_page` header followed by `MDB_meta`).
///
/// LMDB writes the meta page of a transaction's parity (`txnid & 1`) at each
/// commit and, on open, trusts the one with the higher transaction id without
/// checking more than its magic and version. A damaged meta page therefore
/// sends LMDB to a wrong root or past the end of the file; `MetaPage` checks
/// what can be checked before the file is mapped.
package struct MetaPage: Sendable, Hashable {
    /// The magic number every meta page carries (`MDB_MAGIC`).
    package static let magic: UInt32 = 0xBEEF_C0DE
    /// The data format version of LMDB 0.9 (`MDB_DATA_VERSION`).
    package static let dataVersion: UInt32 = 1
    /// The page sizes LMDB can have written: powers of two in this range.
    package static let pageSizes = 512...65_536
    /// LMDB's "no page" marker for an empty tree's root (`P_INVALID`).
    package static let noPage = UInt64.max
    /// The deepest tree LMDB's cursors can walk (`CURSOR_STACK`).
    package static let maxDepth = 32
    /// Bytes of the page header and the meta fields read.
    package static let byteCount = 152

    /// Which meta page: 0 or 1.
    package let index: Int
    /// The page size the environment was created with.
    package let pageSize: Int
    /// The map size recorded at the last commit.
    package let mapSize: UInt64
    /// The last page in use (`mm_last_pg`): the file holds at least
    /// `lastPage + 1` pages.
    package let lastPage: UInt64
    /// The transaction that wrote this meta page.
    package let transactionID: UInt64

    /// Parses and checks meta page `index` from `bytes` (at least
    /// `byteCount` bytes from the start of the page); throws a description of
    /// the first thing found wrong.
    package init(index: Int, bytes: [UInt8]) throws(MetaPageProblem) {
        guard bytes.count >= Self.byteCount else { throw .init("it is cut short (\(bytes.count) bytes)") }
        func u16(_ at: Int) -> UInt64 { UInt64(bytes[at]) | UInt64(bytes[at + 1]) << 8 }
        func u32(_ at: Int) -> UInt64 { u16(at) | u16(at + 2) << 16 }
        func u64(_ at: Int) -> UInt64 { u32(at) | u32(at + 4) << 32 }
        // MDB_page: mp_pgno (8), mp_pad (2), mp_flags (2), bounds (4).
        guard u16(10) & 0x08 != 0 else { throw .init("its page header is not marked as a meta page") }
        guard u32(16) == UInt64(Self.magic) else {
            throw .init("its magic number is 0x\(String(u32(16), radix: 16)), not 0xbeefc0de")
        }
        guard u32(20) == UInt64(Self.dataVersion) else {
            throw .init("it is data format version \(u32(20)); this LMDB reads version \(Self.dataVersion)")
        }
        guard u64(0) == UInt64(index) else { throw .init("its page header says page \(u64(0))") }
        // MDB_meta: magic (4), version (4), address (8), mapsize (8), then two
        // MDB_db of 48 bytes (free pages, main), last page, txnid.
        let pageSize = u32(40)
        guard Self.pageSizes.contains(Int(pageSize)), pageSize.nonzeroBitCount == 1 else {
            throw .init("its page size \(pageSize) is not a power of two in \(Self.pageSizes)")
        }
        let lastPage = u64(136)
        let transactionID = u64(144)
        guard lastPage >= 1, lastPage < UInt64(Int.max) / pageSize else {
            throw .init("its last page \(lastPage) is impossible")
        }
        guard transactionID == 0 || transactionID & 1 == UInt64(index) else {
            throw .init("it holds transaction \(transactionID), which LMDB never writes to meta page \(index)")
        }
        for (name, at) in [("free-page", 40), ("main", 88)] {
            let depth = u16(at + 6)
            let root = u64(at + 40)
            if root == Self.noPage {
                guard depth == 0 else { throw .init("its \(name) tree has no root but depth \(depth)") }
            } else {
                guard root >= 2, root <= lastPage else {
                    throw .init("its \(name) tree's root page \(root) lies outside pages 2...\(lastPage)")
                }
                guard depth >= 1, depth <= UInt64(Self.maxDepth) else {
                    throw .init("its \(name) tree's depth \(depth) is impossible")
                }
            }
        }
        self.index = index
        self.pageSize = Int(pageSize)
        self.mapSize = u64(32)
        self.lastPage = lastPage
        self.transactionID = transactionID
    }
}

/// What is wrong with a meta page, in words.
package struct MetaPageProblem: Error {
    package let text: String
    init(_ text: String) { self.text = text }
}
