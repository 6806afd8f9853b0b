import LMDB
/// The state of one `PageWalk`: which pages were reached, which are listed
/// free, and the problems found.
struct TreeWalk {
    private static let headerSize = 16
    private static let branch: UInt64 = 0x01, leaf: UInt64 = 0x02, overflow: UInt64 = 0x04, leaf2: UInt64 = 0x20
    private static let bigData: UInt64 = 0x01, subData: UInt64 = 0x02, dupData: UInt64 = 0x04
    /// The bytes of an `MDB_db` record.
    private static let databaseSize = 48

    let reader: PageReader
    let lastPage: UInt64
    /// Per page: 0 untouched, 1 reachable, 2 listed free.
    private var state: [UInt8]
    private(set) var problems: [PageProblem] = []
    private(set) var problemCount = 0
    private(set) var reachableCount = 0
    private(set) var freeCount = 0
    /// Subtrees found in leaves, walked after the tree holding them.
    private var pendingTrees: [(root: UInt64, depth: Int, what: String)] = []

    init(reader: PageReader, lastPage: UInt64) {
        self.reader = reader
        self.lastPage = lastPage
        state = [UInt8](repeating: 0, count: Int(lastPage) + 1)
    }

    mutating func report(_ page: UInt64, _ detail: String) {
        problemCount += 1
        if problems.count < PageWalkReport.problemLimit { problems.append(PageProblem(page: page, detail: detail)) }
    }

    /// Marks `page` reachable; false (after reporting) when it is out of
    /// range or was reached before.
    private mutating func claim(_ page: UInt64, from what: String) -> Bool {
        guard page <= lastPage else {
            report(page, "\(what) names page \(page), past the last page \(lastPage)")
            return false
        }
        guard page >= 2 else {
            report(page, "\(what) names meta page \(page)")
            return false
        }
        guard state[Int(page)] == 0 else {
            let was = state[Int(page)] == 2 ? "is listed free" : "was already reached"
            report(page, "\(what) reaches page \(page), which \(was)")
            return false
        }
        state[Int(page)] = 1
        reachableCount += 1
        return true
    }

    /// Walks the tree at `root` of `depth` levels, and every subtree and
    /// overflow run it names; in the free-page tree, records the listed
    /// pages.
    mutating func walkTree(root: UInt64, depth: Int, isFree: Bool, what: String) throws(LMDBError) {
        pendingTrees.append((root, depth, what))
        while let tree = pendingTrees.popLast() {
            try walkOne(root: tree.root, depth: tree.depth, isFree: isFree, what: tree.what)
        }
    }

    private mutating func walkOne(root: UInt64, depth: Int, isFree: Bool, what: String) throws(LMDBError) {
        if root == MetaPage.noPage { return }
        guard depth >= 1, depth <= MetaPage.maxDepth else {
            report(root, "\(what) has impossible depth \(depth)")
            return
        }
        var stack: [(page: UInt64, level: Int, from: String)] = [(root, 1, "the root of the \(what)")]
        while let (number, level, from) = stack.popLast() {
            guard claim(number, from: from) else { continue }
            let page = try reader.page(number)
            guard page.count == reader.pageSize else {
                report(number, "lies past the end of the file")
                continue
            }
            guard Bytes.u64(page, 0) == number else {
                report(number, "its header says page \(Bytes.u64(page, 0)) (reached from \(from))")
                continue
            }
            let flags = Bytes.u16(page, 10)
            let wanted = level < depth ? Self.branch : Self.leaf
            guard flags & (Self.branch | Self.leaf | Self.overflow | 0x08) == wanted else {
                let kind = level < depth ? "branch" : "leaf"
                report(number, "has flags 0x\(String(flags, radix: 16)), not a \(kind) page of the \(what)")
                continue
            }
            if flags & Self.leaf2 != 0 { continue }  // fixed-size keys, no nodes
            let lower = Int(Bytes.u16(page, 12)), upper = Int(Bytes.u16(page, 14))
            guard lower >= Self.headerSize, lower <= upper, upper <= page.count, (lower - Self.headerSize) % 2 == 0
            else {
                report(number, "has impossible bounds \(lower)...\(upper)")
                continue
            }
            for index in 0..<((lower - Self.headerSize) / 2) {
                let offset = Int(Bytes.u16(page, Self.headerSize + index * 2))
                guard offset >= upper, offset + 8 <= page.count else {
                    report(number, "node \(index) lies at impossible offset \(offset)")
                    continue
                }
                let low = Bytes.u32(page, offset), nodeFlags = Bytes.u16(page, offset + 4)
                let keySize = Int(Bytes.u16(page, offset + 6))
                if level < depth {
                    stack.append((low | nodeFlags << 32, level + 1, "branch page \(number)"))
                    continue
                }
                let dataAt = offset + 8 + keySize
                let dataSize = Int(low)
                let nodeName = "node \(index) of leaf page \(number)"
                if nodeFlags & Self.bigData != 0 {
                    guard dataAt + 8 <= page.count else {
                        report(number, "\(nodeName) is cut short")
                        continue
                    }
                    let value = try overflow(Bytes.u64(page, dataAt), size: dataSize, from: nodeName, read: isFree)
                    if isFree, let value { listFree(value, from: nodeName, page: number) }
                    continue
                }
                guard dataAt + dataSize <= page.count else {
                    report(number, "\(nodeName) is cut short")
                    continue
                }
                if nodeFlags & Self.subData != 0 {
                    guard dataSize == Self.databaseSize else {
                        report(number, "\(nodeName) holds a database record of \(dataSize) bytes")
                        continue
                    }
                    let root = Bytes.u64(page, dataAt + 40), subDepth = Int(Bytes.u16(page, dataAt + 6))
                    pendingTrees.append((root, subDepth, "subtree named in \(nodeName)"))
                } else if isFree, nodeFlags & Self.dupData == 0 {
                    listFree(Array(page[dataAt..<(dataAt + dataSize)]), from: nodeName, page: number)
                }
            }
        }
    }

    /// Claims the overflow run starting at `first` holding `size` bytes;
    /// returns the bytes when `read` is set.
    private mutating func overflow(_ first: UInt64, size: Int, from: String, read: Bool) throws(LMDBError) -> [UInt8]? {
        guard first <= lastPage, first >= 2 else {
            report(first, "\(from) names overflow page \(first), outside pages 2...\(lastPage)")
            return nil
        }
        let head = try reader.page(first)
        guard head.count == reader.pageSize else {
            report(first, "lies past the end of the file")
            return nil
        }
        guard Bytes.u64(head, 0) == first, Bytes.u16(head, 10) & 0x0F == Self.overflow else {
            report(
                first,
                "is not an overflow page (header page \(Bytes.u64(head, 0)), "
                    + "flags 0x\(String(Bytes.u16(head, 10), radix: 16))), reached from \(from)")
            return nil
        }
        let count = Bytes.u32(head, 12)
        let needed = UInt64((size + Self.headerSize + reader.pageSize - 1) / reader.pageSize)
        guard count >= needed, count <= lastPage - first + 1 else {
            report(first, "overflow run of \(count) pages cannot hold \(size) bytes within the last page \(lastPage)")
            return nil
        }
        for page in first..<(first + count) where !claim(page, from: from) { return nil }
        guard read else { return nil }
        return try reader.read(offset: first * UInt64(reader.pageSize) + UInt64(Self.headerSize), count: size)
    }

    /// The runs of pages 2...`lastPage` neither reachable nor listed free, in
    /// page order, at most `limit` of them, and how many pages they hold in
    /// all (past the limit too).
    func unaccountedRuns(limit: Int) -> (runs: [ClosedRange<UInt64>], pages: Int) {
        var runs: [ClosedRange<UInt64>] = []
        var pages = 0
        var start: UInt64?
        guard lastPage >= 2 else { return (runs, pages) }
        for page in UInt64(2)...lastPage {
            if state[Int(page)] == 0 {
                pages += 1
                if start == nil { start = page }
            } else if let first = start {
                if runs.count < limit { runs.append(first...(page - 1)) }
                start = nil
            }
        }
        if let first = start, runs.count < limit { runs.append(first...lastPage) }
        return (runs, pages)
    }

    /// Records the page numbers of a free-list value: a count, then ids.
    private mutating func listFree(_ value: [UInt8], from: String, page: UInt64) {
        guard value.count >= 8 else {
            report(page, "free list in \(from) is cut short")
            return
        }
        let count = Bytes.u64(value, 0)
        guard count <= UInt64(value.count / 8 - 1) else {
            report(page, "free list in \(from) claims \(count) pages in \(value.count) bytes")
            return
        }
        for index in 0..<Int(count) {
            let free = Bytes.u64(value, 8 + index * 8)
            guard free <= lastPage, free >= 2 else {
                report(free, "the free list in \(from) names page \(free), outside pages 2...\(lastPage)")
                continue
            }
            switch state[Int(free)] {
            case 2: report(free, "is listed free twice (again in \(from))")
            case 1: report(free, "is listed free in \(from) but is in use")
            default:
                state[Int(free)] = 2
                freeCount += 1
            }
        }
    }
}
