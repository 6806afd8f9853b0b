import SystemC

/// The checks made on an environment's `data.mdb` before LMDB maps it.
///
/// LMDB 0.9 trusts its data file: it takes the newer meta page after checking
/// only its magic and version, and maps the file without comparing its size
/// with the pages the meta page claims. A damaged meta page then leads it to
/// a wrong root, and a truncated file makes the map fault (`SIGBUS`) on the
/// first page past the end. These checks turn both into a typed error:
/// `LMDBError.Code.invalid` for a file that is not an LMDB data file at all,
/// `LMDBError.Code.corrupted` for one that is damaged.
///
/// A `lock.mdb` that is not a regular file (a symbolic link, a directory, a
/// FIFO) is refused as `invalid` too: LMDB would write through it. So is a
/// `data.mdb` that is a symbolic link: LMDB would map the file it names (and
/// a writable open create or write it), so an environment is only ever the
/// files in its own directory.
///
/// They read the file (`pread`) and never write it. They cannot see damage
/// inside the trees: a damaged branch or leaf page is found by LMDB only when
/// it is read, and LMDB may then abort or fault rather than return an error.
package enum DataFileCheck {
    /// The newest meta page of the data file in the environment directory
    /// `directory`, after checking both meta pages and the file's size; nil
    /// when there is no data file (LMDB creates one on a writable open).
    ///
    /// Throws `LMDBError` with code `invalid` (not an LMDB data file),
    /// `corrupted` (damaged), or an `errno` code when the file cannot be read.
    ///
    /// A writer beside the reader may be rewriting a meta page while it is
    /// read; a torn read looks like damage, so a file found damaged is read
    /// again (three times in all) before it is refused.
    @discardableResult
    package static func validate(directory: String) throws(LMDBError) -> MetaPage? {
        try checkLockFile(directory: directory)
        try checkDataFileIsNotALink(directory: directory)
        var attempt = 1
        while true {
            do {
                return try validateOnce(directory: directory)
            } catch  where error.code == .corrupted && attempt < 3 {
                attempt += 1
            }
        }
    }

    /// Refuses a `lock.mdb` that is not a regular file. LMDB opens it with
    /// `O_CREAT` and writes its header even for a read-only open, so a
    /// symbolic link there would have the open overwrite (or create) the
    /// link's target, and a directory or FIFO fails with an unrelated error.
    private static func checkLockFile(directory: String) throws(LMDBError) {
        let path = directory + "/lock.mdb"
        var info = stat()
        if lstat(path, &info) != 0 {
            let code = errno
            if code == ENOENT { return }
            throw ioError(code, path, "lstat")
        }
        let type = info.st_mode & S_IFMT
        guard type != S_IFREG else { return }
        let what = type == S_IFLNK ? "a symbolic link" : type == S_IFDIR ? "a directory" : "not a regular file"
        throw LMDBError(
            .invalid, operation: "check lock.mdb", path: path,
            message: "\(path) is \(what); LMDB would write through it, so the environment is not opened")
    }

    /// Refuses a `data.mdb` that is a symbolic link. LMDB opens it by name,
    /// with `O_CREAT` on a writable open: through a link it would map another
    /// file, let a writer write it, or create the file the link names.
    private static func checkDataFileIsNotALink(directory: String) throws(LMDBError) {
        let path = directory + "/data.mdb"
        var info = stat()
        if lstat(path, &info) != 0 {
            let code = errno
            if code == ENOENT { return }
            throw ioError(code, path, "lstat")
        }
        if info.st_mode & S_IFMT == S_IFLNK { throw linkedDataFile(path) }
    }

    /// Confirms that the data file LMDB opened, `descriptor`, is the regular
    /// file named `data.mdb` in `directory` and not one reached through a
    /// symbolic link put there after ``validate(directory:)`` looked.
    static func confirmOpened(_ descriptor: Int32, directory: String) throws(LMDBError) {
        let path = directory + "/data.mdb"
        var named = stat()
        var opened = stat()
        guard lstat(path, &named) == 0 else { throw ioError(errno, path, "lstat") }
        guard fstat(descriptor, &opened) == 0 else { throw ioError(errno, path, "fstat") }
        if named.st_mode & S_IFMT == S_IFLNK || named.st_dev != opened.st_dev || named.st_ino != opened.st_ino {
            throw linkedDataFile(path)
        }
    }

    private static func linkedDataFile(_ path: String) -> LMDBError {
        LMDBError(
            .invalid, operation: "check data.mdb", path: path,
            message: "\(path) is a symbolic link; LMDB would map (and a writer write) the file it names, "
                + "so the environment is not opened. Put the data file itself in the directory")
    }

    private static func validateOnce(directory: String) throws(LMDBError) -> MetaPage? {
        let path = directory + "/data.mdb"
        // Non-blocking, so that a FIFO in its place cannot stall the open;
        // never through a link (refused before, but it may be put there since).
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW)
        if fd < 0 {
            let code = errno
            if code == ENOENT { return nil }
            if code == ELOOP { throw linkedDataFile(path) }
            throw ioError(code, path, "open")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ioError(errno, path, "fstat") }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw LMDBError(
                .invalid, operation: "check data.mdb", path: path,
                message: "\(path) is not an LMDB environment: it is not a regular file")
        }
        // The meta pages first, the size after: a live writer grows the file
        // before a meta page can name the new pages, so this order never sees
        // a meta page ahead of the size.
        let head = try readBytes(fd, count: MetaPage.pageSizes.upperBound + MetaPage.byteCount, path: path)
        if head.isEmpty {
            throw LMDBError(
                .corrupted, operation: "check data.mdb", path: path,
                message: "\(path) is empty: it holds no LMDB environment "
                    + "(a new one is made only where data.mdb does not exist)")
        }
        let (metas, problems) = readMetas(head)
        if metas.isEmpty && problems.allSatisfy({ !$0.hasMagic }) {
            throw LMDBError(
                .invalid, operation: "check data.mdb", path: path,
                message: "\(path) is not an LMDB environment: no meta page carries LMDB's magic number")
        }
        if let problem = problems.first {
            throw LMDBError(
                .corrupted, operation: "check data.mdb", path: path,
                message: "\(path) is damaged: meta page \(problem.index) is invalid: \(problem.text)")
        }
        let newest = metas[0].transactionID >= metas[1].transactionID ? metas[0] : metas[1]
        if metas[0].pageSize != metas[1].pageSize {
            throw LMDBError(
                .corrupted, operation: "check data.mdb", path: path,
                message: "\(path) is damaged: its meta pages disagree on the page size "
                    + "(\(metas[0].pageSize) and \(metas[1].pageSize))")
        }
        guard fstat(fd, &info) == 0 else { throw ioError(errno, path, "fstat") }
        let needed = (newest.lastPage + 1) * UInt64(newest.pageSize)
        if UInt64(info.st_size) < needed {
            throw LMDBError(
                .corrupted, operation: "check data.mdb", path: path,
                message: "\(path) is damaged: it has \(info.st_size) bytes but its newest meta page "
                    + "(page \(newest.index), transaction \(newest.transactionID)) uses \(newest.lastPage + 1) pages "
                    + "of \(newest.pageSize) bytes (\(needed) bytes); the file was cut short")
        }
        return newest
    }

    package struct Problem {
        package let index: Int
        package let text: String
        let hasMagic: Bool
    }

    /// Both meta pages, or what is wrong with each. Meta page 1 sits one page
    /// in; when meta page 0 is too damaged to give the page size, each
    /// possible size is tried so that the report can say which page is bad.
    package static func readMetas(_ head: [UInt8]) -> ([MetaPage], [Problem]) {
        var problems: [Problem] = []
        var metas: [MetaPage] = []
        func hasMagic(_ offset: Int) -> Bool {
            guard head.count >= offset + 20 else { return false }
            let bytes = head[(offset + 16)..<(offset + 20)]
            return bytes.elementsEqual([0xDE, 0xC0, 0xEF, 0xBE])
        }
        func parse(_ index: Int, at offset: Int) {
            let bytes = offset < head.count ? Array(head[offset..<min(head.count, offset + MetaPage.byteCount)]) : []
            do {
                metas.append(try MetaPage(index: index, bytes: bytes))
            } catch {
                problems.append(Problem(index: index, text: error.text, hasMagic: hasMagic(offset)))
            }
        }
        parse(0, at: 0)
        if let first = metas.first {
            parse(1, at: first.pageSize)
        } else {
            let sizes = sequence(first: MetaPage.pageSizes.lowerBound) { $0 * 2 }
                .prefix { $0 <= MetaPage.pageSizes.upperBound }
            if let size = sizes.first(where: hasMagic) {
                parse(1, at: size)
            } else {
                problems.append(Problem(index: 1, text: "it is not found at any page size", hasMagic: false))
            }
        }
        return (metas, problems)
    }

    package static func readBytes(_ fd: Int32, count: Int, path: String) throws(LMDBError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let got = bytes.withUnsafeMutableBytes { buffer in
                pread(fd, buffer.baseAddress! + filled, count - filled, off_t(filled))
            }
            if got < 0 {
                if errno == EINTR { continue }
                throw ioError(errno, path, "pread")
            }
            if got == 0 { break }
            filled += got
        }
        return Array(bytes.prefix(filled))
    }

    package static func ioError(_ code: Int32, _ path: String, _ operation: String) -> LMDBError {
        LMDBError(
            LMDBError.Code(rawValue: code), operation: operation, path: path,
            message: "cannot read \(path): \(String(cString: strerror(code)))")
    }
}
