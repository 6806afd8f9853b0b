import LMDB
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The keys at which a named database's leaf pages begin, read from its
/// branch pages.
package struct LeafBoundaries: Sendable, Hashable {
    /// The separator keys of the database's branch pages in key order: each
    /// is above every key of the leaf page before it and at most the first
    /// key of the leaf page it leads to, so a cursor placed at it lands on
    /// that leaf. The first leaf has none (it begins the table).
    package let keys: [[UInt8]]
    /// False when a branch page could not be read or was cut short by the
    /// limit, so leaves below it have no key here.
    package let complete: Bool
}

extension PageWalk {
    /// The most separator keys `leafBoundaries` returns.
    package static let boundaryLimit = 1 << 16

    /// The separator keys of the branch pages of the database `name` in the
    /// newest snapshot of the data file in `directory`, read with `pread` and
    /// never through the map, so that a reader can start at a leaf page that
    /// follows a damaged one even when no key beyond the damage is known.
    ///
    /// Leaf pages are never read. A branch page that is out of range,
    /// reached twice, or whose header or nodes are wrong is skipped (and the
    /// result marked incomplete). Returns nil when the main tree names no
    /// database `name` or cannot be read down to it.
    ///
    /// Throws `LMDBError` when the file cannot be read or its meta pages are
    /// invalid.
    package static func leafBoundaries(directory: String, database name: String) throws(LMDBError) -> LeafBoundaries? {
        let path = directory + "/data.mdb"
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW)
        guard fd >= 0 else { throw ioError(errno, path) }
        defer { close(fd) }
        var reader = PageReader(fd: fd, path: path, pageSize: MetaPage.pageSizes.upperBound)
        guard let (meta, bytes) = try snapshot(&reader, transactionID: nil) else { return nil }
        var walk = BoundaryWalk(reader: reader, lastPage: meta.lastPage)
        guard
            let record = try walk.databaseRecord(
                named: Array(name.utf8), root: Bytes.u64(bytes, 128), depth: Int(Bytes.u16(bytes, 94)))
        else { return nil }
        try walk.collect(root: record.root, depth: record.depth)
        return LeafBoundaries(keys: walk.keys, complete: walk.complete)
    }
}

/// Reads branch pages for `PageWalk.leafBoundaries`.
private struct BoundaryWalk {
    private static let headerSize = 16, nodeHeaderSize = 8, databaseSize = 48
    private static let branch: UInt64 = 0x01, leaf: UInt64 = 0x02, leaf2: UInt64 = 0x20, subData: UInt64 = 0x02

    let reader: PageReader
    let lastPage: UInt64
    private(set) var keys: [[UInt8]] = []
    private(set) var complete = true
    private var seen: Set<UInt64> = []

    init(reader: PageReader, lastPage: UInt64) {
        self.reader = reader
        self.lastPage = lastPage
    }

    /// One node of a page: its flags, key and the bytes after the key
    /// (`dataSize` of them when they fit) or, on a branch page, the child.
    private struct Node {
        let flags: UInt64
        let key: [UInt8]
        let child: UInt64
        let data: [UInt8]?
    }

    /// The nodes of page `number` when it is a sound page of the `wanted`
    /// kind (branch or leaf, not LEAF2); nil otherwise.
    private mutating func nodes(of number: UInt64, wanted: UInt64) throws(LMDBError) -> [Node]? {
        guard number >= 2, number <= lastPage, seen.insert(number).inserted else { return nil }
        let page = try reader.page(number)
        guard page.count == reader.pageSize, Bytes.u64(page, 0) == number else { return nil }
        let flags = Bytes.u16(page, 10)
        guard flags & (Self.branch | Self.leaf | 0x04 | 0x08) == wanted, flags & Self.leaf2 == 0 else { return nil }
        let lower = Int(Bytes.u16(page, 12)), upper = Int(Bytes.u16(page, 14))
        guard lower >= Self.headerSize, lower <= upper, upper <= page.count, (lower - Self.headerSize) % 2 == 0 else {
            return nil
        }
        var nodes: [Node] = []
        for index in 0..<((lower - Self.headerSize) / 2) {
            let offset = Int(Bytes.u16(page, Self.headerSize + index * 2))
            guard offset >= upper, offset + Self.nodeHeaderSize <= page.count else { return nil }
            let low = Bytes.u32(page, offset), nodeFlags = Bytes.u16(page, offset + 4)
            let keySize = Int(Bytes.u16(page, offset + 6))
            let keyAt = offset + Self.nodeHeaderSize
            guard keyAt + keySize <= page.count else { return nil }
            let dataAt = keyAt + keySize, dataSize = Int(low)
            let data = dataAt + dataSize <= page.count ? Array(page[dataAt..<(dataAt + dataSize)]) : nil
            nodes.append(
                Node(
                    flags: nodeFlags, key: Array(page[keyAt..<dataAt]), child: low | nodeFlags << 32,
                    data: data))
        }
        return nodes
    }

    /// The root and depth of the database `name`, found by descending the
    /// main tree at `root` as a cursor would.
    mutating func databaseRecord(
        named name: [UInt8], root: UInt64, depth: Int
    ) throws(LMDBError) -> (root: UInt64, depth: Int)? {
        guard root != MetaPage.noPage, depth >= 1, depth <= MetaPage.maxDepth else { return nil }
        var number = root
        for _ in 1..<depth {
            // The last child whose separator is at most the name (the first
            // separator stands for the lowest key).
            guard let nodes = try nodes(of: number, wanted: Self.branch), let first = nodes.first else { return nil }
            number = nodes.dropFirst().last { !name.lexicographicallyPrecedes($0.key) }?.child ?? first.child
        }
        guard let nodes = try nodes(of: number, wanted: Self.leaf),
            let node = nodes.first(where: { $0.key == name }), node.flags & Self.subData != 0,
            let record = node.data, record.count == Self.databaseSize
        else { return nil }
        return (Bytes.u64(record, 40), Int(Bytes.u16(record, 6)))
    }

    /// Appends the separator keys of the tree at `root` of `depth` levels,
    /// in key order.
    mutating func collect(root: UInt64, depth: Int) throws(LMDBError) {
        guard root != MetaPage.noPage, depth > 1 else { return }
        guard depth <= MetaPage.maxDepth else {
            complete = false
            return
        }
        // Depth first, children pushed in reverse so keys come out in order.
        var stack: [(page: UInt64, level: Int, key: [UInt8]?)] = [(root, 1, nil)]
        while let (number, level, key) = stack.popLast() {
            if let key {
                guard keys.count < PageWalk.boundaryLimit else {
                    complete = false
                    return
                }
                if keys.last.map({ $0.lexicographicallyPrecedes(key) }) ?? true { keys.append(key) }
            }
            guard level < depth else { continue }
            guard let nodes = try nodes(of: number, wanted: Self.branch), !nodes.isEmpty else {
                complete = false
                continue
            }
            for (index, node) in nodes.enumerated().reversed() {
                stack.append((node.child, level + 1, index == 0 ? nil : node.key))
            }
        }
    }
}
