import ChunkStore
import DSMR
import DSMRNode
import Foundation

/// The snapshots a validator keeps to serve peers, one file per height:
/// `<height>.snapshot` (a `SnapshotFile`) and, once a quorum attested
/// its root, `<height>.certificate` (a `StateCertificate`).
///
/// Every file is written to a temporary name, synced, renamed into place
/// and its directory synced, so a crash leaves a whole file or none.
package struct SnapshotDirectory: Sendable {
    /// The directory (created if missing).
    package let path: String

    /// The directory at `path`, created if missing.
    package init(path: String) throws {
        self.path = path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func snapshotPath(_ height: UInt64) -> String { "\(path)/\(height).snapshot" }
    func certificatePath(_ height: UInt64) -> String { "\(path)/\(height).certificate" }

    /// Writes the snapshot of `file.manifest.height`.
    package func write(_ file: SnapshotFile) throws {
        try Self.writeDurably(file.encoded(), to: snapshotPath(file.manifest.height))
    }

    /// Writes the certificate of its height.
    package func write(_ certificate: StateCertificate) throws {
        try Self.writeDurably(certificate.encoded(), to: certificatePath(certificate.height))
    }

    /// The snapshot kept at `height`, if any.
    ///
    /// - Throws: `StateSyncError` for a damaged file.
    package func snapshot(at height: UInt64) throws -> SnapshotFile? {
        guard let bytes = FileManager.default.contents(atPath: snapshotPath(height)) else { return nil }
        return try SnapshotFile(decoding: Array(bytes))
    }

    /// The certificate kept at `height`, if any.
    package func certificate(at height: UInt64, limits: DecodingLimits) throws -> StateCertificate? {
        guard let bytes = FileManager.default.contents(atPath: certificatePath(height)) else { return nil }
        do {
            return try StateCertificate(decoding: Array(bytes), limits: limits)
        } catch {
            throw StateSyncError(.malformed, "\(certificatePath(height)): \(error)")
        }
    }

    /// Heights with a snapshot file, lowest first.
    package func snapshotHeights() -> [UInt64] {
        heights(suffix: ".snapshot")
    }

    /// Heights with a certificate file, lowest first.
    package func certifiedHeights() -> [UInt64] {
        heights(suffix: ".certificate")
    }

    /// Removes the snapshot and certificate at `height`.
    package func remove(_ height: UInt64) {
        try? FileManager.default.removeItem(atPath: snapshotPath(height))
        try? FileManager.default.removeItem(atPath: certificatePath(height))
    }

    private func heights(suffix: String) -> [UInt64] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.compactMap { name in
            guard name.hasSuffix(suffix) else { return nil }
            return UInt64(name.dropLast(suffix.count))
        }.sorted()
    }

    static func writeDurably(_ bytes: [UInt8], to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let temporary = "\(directory)/.\((path as NSString).lastPathComponent).\(UInt64.random(in: 0...UInt64.max)).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StateSyncError(.io, "cannot create \(temporary): errno \(errno)") }
        var written = 0
        let failure: String? = bytes.withUnsafeBytes { raw in
            while written < raw.count {
                let result = Foundation.write(fd, raw.baseAddress! + written, raw.count - written)
                if result < 0 {
                    if errno == EINTR { continue }
                    return "cannot write \(temporary): errno \(errno)"
                }
                written += result
            }
            return fsync(fd) == 0 ? nil : "cannot sync \(temporary): errno \(errno)"
        }
        close(fd)
        if let failure {
            unlink(temporary)
            throw StateSyncError(.io, failure)
        }
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw StateSyncError(.io, "cannot rename \(temporary) to \(path): errno \(errno)")
        }
        try FileSystem.syncDirectory(directory)
    }
}
