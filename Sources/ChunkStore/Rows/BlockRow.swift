import Crypto
import DSMR

/// A `blocks` row: the block's canonical bytes; once the block is executed,
/// the 32-byte state root it produced; then a checksum (8: the first 8 bytes
/// of the SHA-256 of everything before it), so a damaged state root is found
/// as surely as a damaged block. Rows written before the checksum end after
/// the block or its root; they still decode, unchecked, and are written in
/// the checked form when the block is marked executed.
package struct BlockRow {
    package static let checksumSize = 8
    package let block: Block
    package let stateRoot: StateRoot?
    /// Whether the row was in the form without a checksum.
    package let isUnchecked: Bool

    /// The row for a block's canonical bytes and, once executed, its state
    /// root.
    package static func encode(block: [UInt8], stateRoot: StateRoot?) -> BytesRow {
        let checked = block + (stateRoot?.bytes ?? [])
        return BytesRow(checked + checksum(checked[...]))
    }

    /// Parses a row; `corruptRecord` when the block does not decode, when
    /// what follows it is not a checksum (8) or a state root and a checksum
    /// (40), or an older row's nothing or state root (32), or when the
    /// checksum does not match.
    package init(_ bytes: [UInt8], height: UInt64, limits: DecodingLimits) throws {
        var reader = CanonicalReader(bytes, root: "block", limits: limits)
        do {
            let version = try reader.readUInt8("version")
            guard version == Block.formatVersion else {
                throw reader.error(.unsupportedVersion, "version", "version \(version) is not supported")
            }
            block = try Block(from: &reader)
        } catch {
            throw ChunkStoreError(.corruptRecord, "block at height \(height) does not decode: \(error)")
        }
        let rootSize = StateRoot.byteCount
        let trailer = reader.remaining
        switch trailer {
        case 0, rootSize:
            isUnchecked = true
        case Self.checksumSize, rootSize + Self.checksumSize:
            isUnchecked = false
            let checked = bytes.dropLast(Self.checksumSize)
            guard bytes.suffix(Self.checksumSize).elementsEqual(Self.checksum(checked)) else {
                throw ChunkStoreError(.corruptRecord, "block at height \(height) does not match its checksum")
            }
        default:
            throw ChunkStoreError(
                .corruptRecord,
                "block at height \(height) is followed by \(trailer) bytes, not a checksum (\(Self.checksumSize)), "
                    + "a \(rootSize)-byte state root and a checksum, or (unchecked) nothing or a state root"
            )
        }
        let rootEnd = bytes.count - (isUnchecked ? 0 : Self.checksumSize)
        let hasRoot = trailer == rootSize || trailer == rootSize + Self.checksumSize
        stateRoot = hasRoot ? try StateRoot(bytes: bytes[(rootEnd - rootSize)..<rootEnd]) : nil
    }

    private static func checksum(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        Array(SHA256.hash(data: bytes).prefix(checksumSize))
    }
}
