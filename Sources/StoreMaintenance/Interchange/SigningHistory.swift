import ChunkStore
import DSMR

/// A node's signing history in a portable JSON form, after Ethereum's
/// EIP-3076 slashing-protection interchange: per producer, the slots this
/// node signed and the chunk it signed in each, plus a low watermark below
/// which nothing may be signed at all.
///
/// ```json
/// {"metadata": {"interchange_format": "dsmr.signing-history",
///               "interchange_format_version": "1", "network_id": 1,
///               "chain_id": "…", "node_id": "…", "low_watermark": 1700000000000,
///               "low_slot": "850000000"},
///  "data": [{"producer": "…", "signed_chunks": [{"slot": "42", "chunk_id": "…"}]}]}
/// ```
///
/// Slots are decimal strings so no JSON reader rounds them. Reading is
/// strict, so that every reader sees the rows that are imported: at most
/// ``maxBytes`` bytes; no key twice in one object and no key outside the
/// format; slots in canonical decimal (`"42"`, not `"+42"`, `"042"` or
/// `42`); `network_id` and `low_watermark` plain non-negative integers (not
/// `1.0` or `1e0`); ids in lowercase hex of their exact length; no producer
/// listed twice and no slot twice for one producer.
public struct SigningHistory: Sendable, Hashable {
    /// What the history belongs to.
    public struct Metadata: Sendable, Hashable {
        /// The network the history belongs to.
        public var networkID: UInt32
        /// The chain.
        public var chainID: ChainID
        /// The node whose signatures these are.
        public var nodeID: NodeID
        /// Chain time (ms): nothing expiring at or before it may be signed.
        public var lowWatermark: Int64
        /// The first slot that may be signed at all: the exporting store
        /// pruned its records of every slot below it (its signing floor).
        /// 0 in histories that predate it.
        public var lowSlot: UInt64

        /// Creates the metadata.
        public init(networkID: UInt32, chainID: ChainID, nodeID: NodeID, lowWatermark: Int64, lowSlot: UInt64 = 0) {
            self.networkID = networkID
            self.chainID = chainID
            self.nodeID = nodeID
            self.lowWatermark = lowWatermark
            self.lowSlot = lowSlot
        }
    }

    /// One signed slot.
    public struct SignedChunk: Sendable, Hashable {
        /// The slot.
        public var slot: UInt64
        /// The chunk signed for it.
        public var chunkID: ChunkID

        /// Creates a signed slot.
        public init(slot: UInt64, chunkID: ChunkID) {
            self.slot = slot
            self.chunkID = chunkID
        }
    }

    /// One producer's signed slots.
    public struct ProducerHistory: Sendable, Hashable {
        /// The producer.
        public var producer: NodeID
        /// Its signed slots.
        public var signedChunks: [SignedChunk]

        /// Creates a producer's history.
        public init(producer: NodeID, signedChunks: [SignedChunk]) {
            self.producer = producer
            self.signedChunks = signedChunks
        }
    }

    /// The format's name, `dsmr.signing-history`.
    public static let formatName = "dsmr.signing-history"
    /// The format's version, `1`.
    public static let formatVersion = "1"
    /// The largest history read, in bytes (64 MiB, about 600,000 signed
    /// slots); a larger file is refused before it is parsed.
    public static let maxBytes = 64 << 20

    /// What the history is and belongs to.
    public var metadata: Metadata
    /// The signed slots, per producer.
    public var data: [ProducerHistory]

    /// Creates a history.
    public init(metadata: Metadata, data: [ProducerHistory]) {
        self.metadata = metadata
        self.data = data
    }

    /// Parses a history strictly (see the type's documentation).
    ///
    /// - Throws: `ChunkStoreError/Code/badInterchange` naming what was
    ///   wrong and where.
    public init(json: [UInt8]) throws {
        guard json.count <= Self.maxBytes else {
            throw ChunkStoreError(
                .badInterchange, "the signing history has \(json.count) bytes, above the limit of \(Self.maxBytes)")
        }
        let root: StrictJSONValue
        do {
            root = try StrictJSON.parse(json)
        } catch {
            throw ChunkStoreError(.badInterchange, "the signing history is not strict JSON: \(error)")
        }
        self = try SigningHistoryReader.history(root)
    }

    /// Reads and parses the history file at `path`, reading at most
    /// ``maxBytes`` bytes of it.
    ///
    /// - Throws: `ChunkStoreError/Code/badInterchange` for a file above the
    ///   limit or a malformed history, `ChunkStoreError/Code/io` when the
    ///   file cannot be read.
    public init(contentsOf path: String) throws {
        let bytes = try BoundedFileRead.contents(of: path, limit: Self.maxBytes, what: "the signing history")
        do {
            try self.init(json: bytes)
        } catch let error as ChunkStoreError {
            throw ChunkStoreError(error.code, "\(path): \(error.message)")
        }
    }

    /// The JSON text: keys sorted, two spaces of indentation.
    public func json() -> [UInt8] {
        let chunks = { (history: ProducerHistory) in
            history.signedChunks.map { #"{"chunk_id" : "\#($0.chunkID.hex)", "slot" : "\#($0.slot)"}"# }
        }
        let producers = data.map { history in
            """
                {
                  "producer" : "\(history.producer.hex)",
                  "signed_chunks" : [\(Self.list(chunks(history), indent: "        "))]
                }
            """
        }
        let text = """
            {
              "data" : [\(producers.isEmpty ? "" : "\n" + producers.joined(separator: ",\n") + "\n  ")],
              "metadata" : {
                "chain_id" : "\(metadata.chainID.hex)",
                "interchange_format" : "\(Self.formatName)",
                "interchange_format_version" : "\(Self.formatVersion)",
                "low_slot" : "\(metadata.lowSlot)",
                "low_watermark" : \(metadata.lowWatermark),
                "network_id" : \(metadata.networkID),
                "node_id" : "\(metadata.nodeID.hex)"
              }
            }

            """
        return Array(text.utf8)
    }

    private static func list(_ items: [String], indent: String) -> String {
        guard !items.isEmpty else { return "" }
        return "\n" + items.map { indent + $0 }.joined(separator: ",\n") + "\n" + indent.dropLast(2)
    }

    /// The (producer, slot, chunk) rows.
    func rows() -> [(producer: NodeID, slot: UInt64, chunkID: ChunkID)] {
        data.flatMap { history in history.signedChunks.map { (history.producer, $0.slot, $0.chunkID) } }
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
