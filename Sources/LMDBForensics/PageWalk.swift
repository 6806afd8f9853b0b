import LMDB
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A page-level verification of an LMDB 0.9 data file, read with `pread`
/// and never through the map, so a wrong page number cannot fault.
///
/// From the meta page of one transaction it walks the free-page tree, the
/// main tree, every named database's tree (the main tree's `F_SUBDATA`
/// nodes), every sorted-duplicate subtree and every overflow run
/// (`F_BIGDATA`), and reads the page numbers the free-page tree lists. It
/// reports a page number at or past the meta page's last page + 1, a page
/// reached twice, a page both reachable and listed free (or listed free
/// twice), and a page whose header has the wrong page number or flags.
///
/// When it finds none of those, it also accounts for every page: pages 0
/// and 1 are the meta pages, and each of pages 2...last page must be either
/// reachable or listed free. LMDB 0.9 keeps that true of every committed
/// snapshot: a commit lists the pages it freed under its own transaction id
/// (they stay listed while a reader of an older snapshot may use them, as
/// pages of older records are reclaimed only below the oldest reader), and
/// writes the reclaimed pages it did not use back to the free-page tree;
/// every page of an overflow run is reached, and listed when freed. A page
/// that is neither is *leaked*: its space is lost, and LMDB's compacting
/// copy (`mdb_env_copy2` with `MDB_CP_COMPACT`) refuses the file
/// (`MDB_INCOMPATIBLE`), as its count of pages then disagrees. When a tree
/// could not be walked whole, its unwalked pages would look leaked, so no
/// accounting is reported.
///
/// Everything is bounded: each page is read at most once, trees at most
/// `MetaPage.maxDepth` deep, node counts by the page size.
package enum PageWalk {
    /// Walks the snapshot written by `transactionID` (the newest meta page
    /// when nil) of the data file in `directory`. Returns nil when no meta
    /// page holds `transactionID` any more (a writer has since reused it).
    ///
    /// Throws `LMDBError` when the file cannot be read or its meta pages are
    /// invalid (see `DataFileCheck`).
    package static func verify(directory: String, transactionID: UInt64? = nil) throws(LMDBError) -> PageWalkReport? {
        let path = directory + "/data.mdb"
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW)
        guard fd >= 0 else { throw ioError(errno, path) }
        defer { close(fd) }
        var reader = PageReader(fd: fd, path: path, pageSize: MetaPage.pageSizes.upperBound)
        guard let (meta, bytes) = try snapshot(&reader, transactionID: transactionID) else { return nil }
        var walk = TreeWalk(reader: reader, lastPage: meta.lastPage)
        try walk.walkTree(
            root: Bytes.u64(bytes, 80), depth: Int(Bytes.u16(bytes, 46)), isFree: true, what: "free-page tree")
        try walk.walkTree(
            root: Bytes.u64(bytes, 128), depth: Int(Bytes.u16(bytes, 94)), isFree: false, what: "main tree")
        let accounted = walk.problemCount == 0
        let leaks = accounted ? walk.unaccountedRuns(limit: PageWalkReport.problemLimit) : (runs: [], pages: 0)
        return PageWalkReport(
            transactionID: meta.transactionID, lastPage: meta.lastPage, reachablePages: walk.reachableCount,
            freePages: walk.freeCount, problemCount: walk.problemCount, problems: walk.problems,
            isAccounted: accounted, leakedPages: leaks.pages, leakedRuns: leaks.runs)
    }

    /// The meta page (parsed, and its bytes) of `transactionID` (the newest
    /// when nil), with `reader`'s page size set to its; nil when no meta
    /// page holds `transactionID`.
    static func snapshot(
        _ reader: inout PageReader, transactionID: UInt64?
    ) throws(LMDBError) -> (MetaPage, [UInt8])? {
        let path = reader.path
        let first = try reader.read(offset: 0, count: MetaPage.byteCount)
        let meta0: MetaPage
        do { meta0 = try MetaPage(index: 0, bytes: first) } catch { throw damaged(path, "meta page 0: \(error.text)") }
        let second = try reader.read(offset: UInt64(meta0.pageSize), count: MetaPage.byteCount)
        let meta1: MetaPage
        do { meta1 = try MetaPage(index: 1, bytes: second) } catch { throw damaged(path, "meta page 1: \(error.text)") }
        let candidates = [(meta0, first), (meta1, second)]
        let chosen: (MetaPage, [UInt8])?
        if let transactionID {
            chosen = candidates.first { $0.0.transactionID == transactionID }
        } else {
            chosen = meta0.transactionID >= meta1.transactionID ? candidates[0] : candidates[1]
        }
        guard let chosen else { return nil }
        reader.pageSize = chosen.0.pageSize
        return chosen
    }

    static func damaged(_ path: String, _ text: String) -> LMDBError {
        LMDBError(.corrupted, operation: "walk data.mdb", path: path, message: "\(path) is damaged: \(text)")
    }

    static func ioError(_ code: Int32, _ path: String) -> LMDBError {
        LMDBError(
            LMDBError.Code(rawValue: code), operation: "walk data.mdb", path: path,
            message: "cannot read \(path): \(String(cString: strerror(code)))")
    }
}

/// What `PageWalk` found in one snapshot.
package struct PageWalkReport: Sendable, Hashable {
    /// The transaction whose meta page was walked.
    package let transactionID: UInt64
    /// That meta page's last page in use.
    package let lastPage: UInt64
    /// Pages reached from the roots.
    package let reachablePages: Int
    /// Pages the free-page tree lists.
    package let freePages: Int
    /// Problems found in all, including those past the limit.
    package let problemCount: Int
    /// What is certainly wrong, at most `PageWalkReport.problemLimit`.
    package let problems: [PageProblem]
    /// Whether every page was accounted for: true when no problem was found
    /// (otherwise pages below a damaged tree were not walked, and the
    /// figures below are zero).
    package let isAccounted: Bool
    /// Pages 2...`lastPage` neither reachable nor listed free, in all.
    package let leakedPages: Int
    /// Those pages as runs of consecutive page numbers, in page order, at
    /// most `PageWalkReport.problemLimit` runs.
    package let leakedRuns: [ClosedRange<UInt64>]

    /// The most problems kept.
    package static let problemLimit = 1_000
}

/// One page found wrong by `PageWalk`.
package struct PageProblem: Sendable, Hashable, CustomStringConvertible {
    /// The page concerned.
    package let page: UInt64
    /// What is wrong with it.
    package let detail: String

    package var description: String { "page \(page): \(detail)" }
}

/// Little-endian reads from a byte array, bounds checked by the caller.
enum Bytes {
    static func u16(_ b: [UInt8], _ at: Int) -> UInt64 { UInt64(b[at]) | UInt64(b[at + 1]) << 8 }
    static func u32(_ b: [UInt8], _ at: Int) -> UInt64 { u16(b, at) | u16(b, at + 2) << 16 }
    static func u64(_ b: [UInt8], _ at: Int) -> UInt64 { u32(b, at) | u32(b, at + 4) << 32 }
}

/// Reads pages of the data file with `pread`.
struct PageReader {
    let fd: Int32
    let path: String
    var pageSize: Int

    /// `count` bytes at `offset`, fewer at the end of the file.
    func read(offset: UInt64, count: Int) throws(LMDBError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let got = bytes.withUnsafeMutableBytes { buffer in
                pread(fd, buffer.baseAddress! + filled, count - filled, off_t(offset) + off_t(filled))
            }
            if got < 0 {
                if errno == EINTR { continue }
                throw PageWalk.ioError(errno, path)
            }
            if got == 0 { break }
            filled += got
        }
        return Array(bytes.prefix(filled))
    }

    /// Page `number`, or fewer bytes when the file ends inside it.
    func page(_ number: UInt64) throws(LMDBError) -> [UInt8] {
        try read(offset: number * UInt64(pageSize), count: pageSize)
    }
}
