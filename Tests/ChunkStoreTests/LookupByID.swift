import ChunkStore
import DSMR

/// Lookups by id alone, for tests that do not track expiries: each finds the
/// expiry with `locate` (a scan) first.
extension ChunkStore {
    func chunk(_ id: ChunkID) throws -> StoredChunk? {
        try locate(id).flatMap { try chunk(id, expiry: $0) }
    }

    func chunkBytes(_ id: ChunkID) throws -> [UInt8]? {
        try locate(id).flatMap { try chunkBytes(id, expiry: $0) }
    }

    func summary(of id: ChunkID) throws -> ChunkSummary? {
        try locate(id).flatMap { try summary(of: id, expiry: $0) }
    }
}
