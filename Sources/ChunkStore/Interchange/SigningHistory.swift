import DSMR
import Foundation

/// A node's signing history in a portable JSON form, after Ethereum's
/// EIP-3076 slashing-protection interchange: per producer, the slots this
/// node signed and the chunk it signed in each, plus a low watermark below
/// which nothing may be signed at all.
///
/// ```json
/// {"metadata": {"interchange_format": "dsmr.signing-history",
///               "interchange_format_version": "1", "network_id": 1,
///               "chain_id": "…", "node_id": "…", "low_watermark": 1700000000000},
///  "data": [{"producer": "…", "signed_chunks": [{"slot": "42", "chunk_id": "…"}]}]}
/// ```
/// Slots are decimal strings so no JSON reader rounds them.
public struct SigningHistory: Sendable, Hashable, Codable {
    /// The format's name and version and what the history belongs to.
    public struct Metadata: Sendable, Hashable, Codable {
        /// Always `dsmr.signing-history`.
        public var interchangeFormat: String
        /// The format's version, `1`.
        public var interchangeFormatVersion: String
        /// The network the history belongs to.
        public var networkID: UInt32
        /// The chain, in hex.
        public var chainID: String
        /// The node whose signatures these are, in hex.
        public var nodeID: String
        /// Chain time (ms): nothing expiring at or before it may be signed.
        public var lowWatermark: Int64

        enum CodingKeys: String, CodingKey {
            case interchangeFormat = "interchange_format"
            case interchangeFormatVersion = "interchange_format_version"
            case networkID = "network_id"
            case chainID = "chain_id"
            case nodeID = "node_id"
            case lowWatermark = "low_watermark"
        }
    }

    /// One signed slot.
    public struct SignedChunk: Sendable, Hashable, Codable {
        /// The slot, as a decimal string.
        public var slot: String
        /// The chunk signed for it, in hex.
        public var chunkID: String

        enum CodingKeys: String, CodingKey {
            case slot
            case chunkID = "chunk_id"
        }
    }

    /// One producer's signed slots.
    public struct ProducerHistory: Sendable, Hashable, Codable {
        /// The producer, in hex.
        public var producer: String
        /// Its signed slots.
        public var signedChunks: [SignedChunk]

        enum CodingKeys: String, CodingKey {
            case producer
            case signedChunks = "signed_chunks"
        }
    }

    static let formatName = "dsmr.signing-history"
    static let formatVersion = "1"

    /// What the history is and belongs to.
    public var metadata: Metadata
    /// The signed slots, per producer.
    public var data: [ProducerHistory]

    /// The JSON text, keys sorted.
    public func json() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return Array(try encoder.encode(self))
    }

    /// Parses and validates a history: the format, and every id and slot.
    public init(json: [UInt8]) throws {
        do {
            self = try JSONDecoder().decode(SigningHistory.self, from: Data(json))
        } catch {
            throw ChunkStoreError(.badInterchange, "the signing history is not valid JSON of this format: \(error)")
        }
        guard metadata.interchangeFormat == Self.formatName, metadata.interchangeFormatVersion == Self.formatVersion
        else {
            throw ChunkStoreError(
                .badInterchange,
                "format \(metadata.interchangeFormat) version \(metadata.interchangeFormatVersion) is not \(Self.formatName) version \(Self.formatVersion)")
        }
        _ = try rows()
    }

    init(metadata: Metadata, data: [ProducerHistory]) {
        self.metadata = metadata
        self.data = data
    }

    /// The (producer, slot, chunk) rows, validated.
    func rows() throws -> [(producer: NodeID, slot: UInt64, chunkID: ChunkID)] {
        var rows: [(NodeID, UInt64, ChunkID)] = []
        for history in data {
            guard let producer = try? NodeID(hex: history.producer) else {
                throw ChunkStoreError(.badInterchange, "producer \"\(history.producer)\" is not a 20-byte hex id")
            }
            for signed in history.signedChunks {
                guard let slot = UInt64(signed.slot) else {
                    throw ChunkStoreError(.badInterchange, "slot \"\(signed.slot)\" of \(producer) is not a UInt64")
                }
                guard let id = try? ChunkID(hex: signed.chunkID) else {
                    throw ChunkStoreError(.badInterchange, "chunk id \"\(signed.chunkID)\" of \(producer) slot \(slot) is not 32-byte hex")
                }
                rows.append((producer, slot, id))
            }
        }
        return rows
    }
}

/// What importing a signing history did.
public struct SigningHistoryImport: Sendable, Hashable, Codable {
    /// Signed slots added.
    public var added = 0
    /// Slots already recorded with the same chunk.
    public var alreadyPresent = 0
    /// Slots already recorded with another chunk: the existing row is kept,
    /// so the node goes on refusing every other chunk for them.
    public var keptExisting = 0
    /// Slots that expire at or below the resulting watermark: nothing can be
    /// signed for them anyway.
    public var obsolete = 0
    /// The watermark after the import (the higher of the two).
    public var watermark: Int64 = 0
}
