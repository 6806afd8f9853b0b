import ChunkStore
import DSMR

/// Where an executor gets the chunk a certificate names.
public protocol ChunkSource: Sendable {
    /// The chunk `certificate` certifies.
    ///
    /// - Throws: when it cannot be had; the error says why.
    func chunk(for certificate: ChunkCertificate) async throws -> Chunk
}

/// Chunks from a store only, as a tool re-executing a store's blocks needs.
public struct StoreChunkSource: ChunkSource {
    /// The store read.
    public let store: ChunkStore

    /// A source reading `store`.
    public init(store: ChunkStore) { self.store = store }

    /// - Throws: ``ChunkMissing`` when the store no longer holds it.
    public func chunk(for certificate: ChunkCertificate) async throws -> Chunk {
        guard let held = try store.chunk(certificate.reference) else {
            throw ChunkMissing(reference: certificate.reference)
        }
        return held.chunk
    }
}

/// A chunk an executor needs is not held.
public struct ChunkMissing: Error, Hashable, Sendable, CustomStringConvertible {
    /// The chunk's reference.
    public let reference: ChunkReference

    public var description: String {
        "chunk \(reference.chunkID) of \(reference.producer) slot \(reference.slot) "
            + "(expiry \(reference.expiry)) is not held"
    }
}
