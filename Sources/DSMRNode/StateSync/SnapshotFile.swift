import Crypto
import DSMR
import Foundation

/// A state snapshot as one file: what a validator keeps at a certified
/// height to serve peers, and what `replay` starts from.
///
/// `"DSMRSNAP" || version (u8) || length (u32) || manifest || (length (u32)
/// || piece) per piece, in order || SHA-256 of everything before (32)`.
/// Reading is strict: the pieces must be numbered 0, 1, … up to the
/// manifest's count, each within ``SnapshotPiece/maxPayloadBytes``, the
/// checksum must match and nothing may follow it.
public struct SnapshotFile: Hashable, Sendable {
    /// What the snapshot holds.
    public var manifest: SnapshotManifest
    /// Its pieces, in order.
    public var pieces: [SnapshotPiece]

    static let magic = Array("DSMRSNAP".utf8)
    static let version: UInt8 = 1

    /// A file's contents from a manifest and all of its pieces.
    public init(manifest: SnapshotManifest, pieces: [SnapshotPiece]) {
        self.manifest = manifest
        self.pieces = pieces
    }

    /// Every piece of `snapshot`.
    public init(_ snapshot: any StateSnapshot) throws {
        manifest = snapshot.manifest
        pieces = try (0..<snapshot.manifest.pieceCount).map { try snapshot.piece($0) }
    }

    /// The file's bytes.
    public func encoded() -> [UInt8] {
        var writer = CanonicalWriter(capacity: 64 + pieces.reduce(0) { $0 + $1.payload.count + $1.proof.count + 16 })
        writer.writeRaw(Self.magic)
        writer.write(Self.version)
        writer.writeLengthPrefixed(manifest.encoded())
        for piece in pieces { writer.writeLengthPrefixed(piece.encoded()) }
        var bytes = writer.bytes
        bytes.append(contentsOf: SHA256.hash(data: bytes))
        return bytes
    }

    /// The largest snapshot file read (4 GiB).
    public static let maxFileBytes: UInt64 = 4 << 30

    /// Reads the snapshot file at `path`.
    ///
    /// - Throws: ``StateSyncError`` when it cannot be read, is larger than
    ///   ``maxFileBytes`` or is malformed.
    public static func read(from path: String) throws -> SnapshotFile {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? UInt64) ?? nil
        guard let size else { throw StateSyncError(.io, "cannot read the snapshot file \(path)") }
        guard size <= maxFileBytes else {
            throw StateSyncError(.malformed, "\(path) is \(size) bytes, more than a snapshot file's \(maxFileBytes)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StateSyncError(.io, "cannot read the snapshot file \(path)")
        }
        do {
            return try SnapshotFile(decoding: Array(data))
        } catch {
            throw StateSyncError(error.code, "\(path): \(error.message)")
        }
    }

    /// Reads a file's bytes.
    ///
    /// - Throws: ``StateSyncError/Code/malformed`` naming what is wrong.
    public init(decoding bytes: [UInt8]) throws(StateSyncError) {
        let header = Self.magic.count + 1
        guard bytes.count >= header + 32, Array(bytes.prefix(Self.magic.count)) == Self.magic else {
            throw StateSyncError(.malformed, "not a snapshot file (no DSMRSNAP header)")
        }
        guard bytes[Self.magic.count] == Self.version else {
            throw StateSyncError(.malformed, "snapshot file version \(bytes[Self.magic.count]), not \(Self.version)")
        }
        let body = bytes[..<(bytes.count - 32)]
        guard Array(SHA256.hash(data: body)) == Array(bytes.suffix(32)) else {
            throw StateSyncError(.malformed, "the snapshot file's checksum does not match: it is damaged or cut short")
        }
        var reader = CanonicalReader(Array(body.dropFirst(header)), root: "snapshotFile")
        do {
            let manifest = try SnapshotManifest(
                decoding: reader.readLengthPrefixed("manifest", limit: 256))
            var pieces: [SnapshotPiece] = []
            let pieceLimit = SnapshotPiece.maxPayloadBytes + SnapshotTree.maxProofBytes + 16
            while reader.remaining > 0 {
                let piece = try SnapshotPiece(decoding: reader.readLengthPrefixed("piece", limit: pieceLimit))
                guard piece.index == UInt32(pieces.count), pieces.count < Int(manifest.pieceCount) else {
                    throw StateSyncError(
                        .malformed,
                        "piece \(piece.index) found where piece \(pieces.count) of \(manifest.pieceCount) belongs")
                }
                pieces.append(piece)
            }
            guard pieces.count == Int(manifest.pieceCount) else {
                throw StateSyncError(.malformed, "\(pieces.count) of \(manifest.pieceCount) pieces are in the file")
            }
            self.init(manifest: manifest, pieces: pieces)
        } catch let error as StateSyncError {
            throw error
        } catch {
            throw StateSyncError(.malformed, "snapshot file: \(error)")
        }
    }
}
