import ChunkStore
import Foundation
import LMDB
import LMDBForensics

/// A private copy of a damaged store's data file in which its one damaged
/// meta page is rewritten from the other, sound one, for salvage to read
/// (LMDB's `MetaPageFallback`). It lives in a new directory (mode 0700)
/// beside salvage's destination, which lies outside every store, and holds
/// only the copy and the lock file LMDB makes for it; the source is only
/// read.
struct MetaPageCopy {
    /// The copy's directory: a store directory holding only `data.mdb`.
    let directory: String
    /// Which page was damaged and which one is read.
    let fallback: SalvageReport.MetaPageFallback

    /// Makes the copy when exactly one meta page of `source` is damaged;
    /// nil when both are sound or the file is damaged in another way
    /// (opening it then names what is wrong).
    static func make(of source: String, beside destination: String) throws -> MetaPageCopy? {
        let found = try SealedErrors.sealed(source, .reading) { try MetaPageFallback.examine(directory: source) }
        guard let found else { return nil }
        var trimmed = destination
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        let name = trimmed.split(separator: "/").last.map(String.init) ?? "salvage"
        var template = Array("\(FileSystem.parent(of: trimmed))/.\(name).meta-copy-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw FileSystem.ioError("cannot make a directory for a copy of \(source)/data.mdb beside", trimmed)
        }
        let copy = MetaPageCopy(
            directory: String(cString: made),
            fallback: SalvageReport.MetaPageFallback(
                damagedPage: found.damagedPage, usedPage: found.survivor.index,
                transactionID: found.survivor.transactionID, problem: found.problem))
        do {
            try SealedErrors.sealed(source, .reading) { try found.copy(from: source, into: copy.directory) }
        } catch {
            copy.remove()
            throw error
        }
        return copy
    }

    /// Removes the copy and its directory.
    func remove() {
        for file in ["data.mdb", "lock.mdb"] { unlink(directory + "/" + file) }
        rmdir(directory)
    }
}
