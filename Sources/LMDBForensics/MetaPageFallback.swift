import LMDB
import SystemC

/// A data file one of whose two meta pages is damaged while the other is
/// sound: the sound one still leads to a whole tree (the state of its
/// transaction), so the environment can be read from a copy of the file in
/// which the damaged page is rewritten from the sound one.
///
/// LMDB keeps the trees of its last two commits intact, one under each meta
/// page. When the damaged page was the newer one, the copy holds the state
/// before the last commit; when it was the older one, nothing is lost.
/// `DataFileCheck` refuses such a file, so LMDB never maps the original.
package struct MetaPageFallback: Sendable, Hashable {
    /// The damaged meta page: 0 or 1.
    package let damagedPage: Int
    /// What is wrong with it, in words.
    package let problem: String
    /// The sound meta page that is read instead.
    package let survivor: MetaPage

    /// Examines the meta pages of `directory/data.mdb` (`pread`, never
    /// writing, never through a symbolic link). Returns nil unless exactly
    /// one meta page is damaged and the file holds every page the other one
    /// uses; then opening the environment either works or fails for another
    /// reason, which `DataFileCheck` names.
    ///
    /// Throws `LMDBError` with an `errno` code when the file cannot be read.
    package static func examine(directory: String) throws(LMDBError) -> MetaPageFallback? {
        let path = directory + "/data.mdb"
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT || code == ELOOP { return nil }
            throw DataFileCheck.ioError(code, path, "open")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw DataFileCheck.ioError(errno, path, "fstat") }
        guard info.st_mode & S_IFMT == S_IFREG else { return nil }
        let head = try DataFileCheck.readBytes(
            fd, count: MetaPage.pageSizes.upperBound + MetaPage.byteCount, path: path)
        let (metas, problems) = DataFileCheck.readMetas(head)
        guard metas.count == 1, problems.count == 1, let survivor = metas.first, let problem = problems.first,
            problem.index != survivor.index
        else { return nil }
        guard UInt64(info.st_size) >= (survivor.lastPage + 1) * UInt64(survivor.pageSize) else { return nil }
        return MetaPageFallback(
            damagedPage: problem.index, problem: "meta page \(problem.index) is invalid: \(problem.text)",
            survivor: survivor)
    }

    /// Copies `source/data.mdb` to a new file `destination/data.mdb` (mode
    /// 0600, `O_EXCL|O_NOFOLLOW`, synced) in which the damaged meta page is
    /// the survivor's page with its own page number and a transaction id one
    /// below the survivor's (of the damaged page's parity), so that LMDB
    /// opens the copy at the survivor's transaction. The source is only read.
    ///
    /// Throws `LMDBError` with an `errno` code when a file cannot be read or
    /// written, or `corrupted` when the source changed since ``examine(directory:)``.
    package func copy(from source: String, into destination: String) throws(LMDBError) {
        let sourcePath = source + "/data.mdb"
        let targetPath = destination + "/data.mdb"
        let input = open(sourcePath, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW)
        guard input >= 0 else { throw DataFileCheck.ioError(errno, sourcePath, "open") }
        defer { close(input) }
        let output = open(targetPath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw DataFileCheck.ioError(errno, targetPath, "open") }
        defer { close(output) }
        let pageSize = survivor.pageSize
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var offset: off_t = 0
        while true {
            let got = buffer.withUnsafeMutableBytes { pread(input, $0.baseAddress!, $0.count, offset) }
            if got < 0 {
                if errno == EINTR { continue }
                throw DataFileCheck.ioError(errno, sourcePath, "pread")
            }
            if got == 0 { break }
            try Self.writeAll(output, Array(buffer.prefix(got)), at: offset, path: targetPath)
            offset += off_t(got)
        }
        // The survivor's page as it is now; it must still be the one examined.
        let survivorPage = try Self.readPage(input, index: survivor.index, pageSize: pageSize, path: sourcePath)
        guard (try? MetaPage(index: survivor.index, bytes: survivorPage)) == survivor else {
            throw LMDBError(
                .corrupted, operation: "copy data.mdb", path: sourcePath,
                message: "\(sourcePath) changed while it was copied: meta page \(survivor.index) is no longer "
                    + "the one examined")
        }
        try Self.writeAll(output, survivorPage, at: off_t(survivor.index * pageSize), path: targetPath)
        var page = survivorPage
        Self.store(UInt64(damagedPage), in: &page, at: 0)
        let transactionID = survivor.transactionID == 0 ? 0 : survivor.transactionID - 1
        Self.store(transactionID, in: &page, at: 144)
        try Self.writeAll(output, page, at: off_t(damagedPage * pageSize), path: targetPath)
        guard fsync(output) == 0 else { throw DataFileCheck.ioError(errno, targetPath, "fsync") }
    }

    private static func readPage(_ fd: Int32, index: Int, pageSize: Int, path: String) throws(LMDBError) -> [UInt8] {
        var page = [UInt8](repeating: 0, count: pageSize)
        var filled = 0
        while filled < pageSize {
            let got = page.withUnsafeMutableBytes { buffer in
                pread(fd, buffer.baseAddress! + filled, pageSize - filled, off_t(index * pageSize + filled))
            }
            if got < 0 {
                if errno == EINTR { continue }
                throw DataFileCheck.ioError(errno, path, "pread")
            }
            if got == 0 { break }
            filled += got
        }
        return Array(page.prefix(filled))
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], at offset: off_t, path: String) throws(LMDBError) {
        var written = 0
        while written < bytes.count {
            let put = bytes.withUnsafeBytes { buffer in
                pwrite(fd, buffer.baseAddress! + written, bytes.count - written, offset + off_t(written))
            }
            if put < 0 {
                if errno == EINTR { continue }
                throw DataFileCheck.ioError(errno, path, "pwrite")
            }
            written += put
        }
    }

    /// Stores `value` little-endian (LMDB's byte order on the platforms it
    /// is built for here) at `offset`.
    private static func store(_ value: UInt64, in page: inout [UInt8], at offset: Int) {
        for index in 0..<8 { page[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(index))) }
    }
}
