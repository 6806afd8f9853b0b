import ChunkStore
import DSMR

/// Turns strict JSON into a ``SigningHistory``: every object has exactly
/// its format's keys, every scalar its one canonical form.
enum SigningHistoryReader {
    static func history(_ root: StrictJSONValue) throws -> SigningHistory {
        let top = try fields(root, "the history", ["metadata", "data"])
        let metadata = try self.metadata(top["metadata"]!)
        var producers: Set<NodeID> = []
        var data: [SigningHistory.ProducerHistory] = []
        for (index, entry) in try array(top["data"]!, "\"data\"").enumerated() {
            let history = try producer(entry, "data[\(index)]")
            guard producers.insert(history.producer).inserted else {
                throw failure("producer \(history.producer) is listed twice in \"data\"")
            }
            data.append(history)
        }
        return SigningHistory(metadata: metadata, data: data)
    }

    private static func metadata(_ value: StrictJSONValue) throws -> SigningHistory.Metadata {
        let keys = [
            "interchange_format", "interchange_format_version", "network_id", "chain_id", "node_id", "low_watermark",
        ]
        let object = try fields(value, "\"metadata\"", keys, optional: ["low_slot"])
        let format = try string(object["interchange_format"]!, "interchange_format")
        let version = try string(object["interchange_format_version"]!, "interchange_format_version")
        guard format == SigningHistory.formatName, version == SigningHistory.formatVersion else {
            throw failure(
                "format \"\(format.prefix(80))\" version \"\(version.prefix(80))\" is not "
                    + "\(SigningHistory.formatName) version \(SigningHistory.formatVersion)")
        }
        guard case .number(let networkText) = object["network_id"]!, let networkID = UInt32(canonical: networkText)
        else { throw failure("\"network_id\" must be an integer from 0 to \(UInt32.max) in plain decimal") }
        guard case .number(let watermarkText) = object["low_watermark"]!,
            let watermark = UInt64(canonical: watermarkText), let lowWatermark = Int64(exactly: watermark)
        else { throw failure("\"low_watermark\" must be an integer from 0 to \(Int64.max) in plain decimal") }
        var lowSlot: UInt64 = 0
        if let value = object["low_slot"] {
            guard case .string(let text) = value, let slot = UInt64(canonical: text) else {
                throw failure(
                    "\"low_slot\" must be a string of a decimal from 0 to \(UInt64.max), no sign or leading zero")
            }
            lowSlot = slot
        }
        return SigningHistory.Metadata(
            networkID: networkID, chainID: try id(object["chain_id"]!, "chain_id"),
            nodeID: try id(object["node_id"]!, "node_id"), lowWatermark: lowWatermark, lowSlot: lowSlot)
    }

    private static func producer(_ value: StrictJSONValue, _ place: String) throws -> SigningHistory.ProducerHistory {
        let object = try fields(value, place, ["producer", "signed_chunks"])
        let producer: NodeID = try id(object["producer"]!, "producer")
        var slots: Set<UInt64> = []
        var signed: [SigningHistory.SignedChunk] = []
        for (index, row) in try array(object["signed_chunks"]!, "\(place).signed_chunks").enumerated() {
            let place = "\(place).signed_chunks[\(index)]"
            let fields = try fields(row, place, ["slot", "chunk_id"])
            guard case .string(let slotText) = fields["slot"]!, let slot = UInt64(canonical: slotText) else {
                throw failure(
                    "\(place): \"slot\" must be a string of a decimal from 0 to \(UInt64.max), no sign or leading zero")
            }
            guard slots.insert(slot).inserted else {
                throw failure("\(place): producer \(producer) lists slot \(slot) twice")
            }
            signed.append(SigningHistory.SignedChunk(slot: slot, chunkID: try id(fields["chunk_id"]!, "chunk_id")))
        }
        return SigningHistory.ProducerHistory(producer: producer, signedChunks: signed)
    }

    /// The object's members by key; refuses a missing key (but the
    /// `optional` ones) or an unknown key.
    private static func fields(
        _ value: StrictJSONValue, _ place: String, _ keys: [String], optional: [String] = []
    ) throws -> [String: StrictJSONValue] {
        guard case .object(let members) = value else { throw failure("\(place) must be an object, not \(value.kind)") }
        var found: [String: StrictJSONValue] = [:]
        for member in members {
            guard keys.contains(member.key) || optional.contains(member.key) else {
                throw failure("\(place) has the unknown key \"\(member.key.prefix(80))\"")
            }
            found[member.key] = member.value
        }
        if let missing = keys.first(where: { found[$0] == nil }) {
            throw failure("\(place) lacks the key \"\(missing)\"")
        }
        return found
    }

    private static func array(_ value: StrictJSONValue, _ place: String) throws -> [StrictJSONValue] {
        guard case .array(let elements) = value else { throw failure("\(place) must be an array, not \(value.kind)") }
        return elements
    }

    private static func string(_ value: StrictJSONValue, _ key: String) throws -> String {
        guard case .string(let text) = value else { throw failure("\"\(key)\" must be a string, not \(value.kind)") }
        return text
    }

    /// An id in lowercase hex of exactly its length.
    private static func id<ID: Identifier>(_ value: StrictJSONValue, _ key: String) throws -> ID {
        let text = try string(value, key)
        guard let id = try? ID(hex: text), id.hex == text else {
            throw failure("\"\(key)\" \"\(text.prefix(80))\" is not \(ID.byteCount) bytes in lowercase hex")
        }
        return id
    }

    private static func failure(_ message: String) -> ChunkStoreError {
        ChunkStoreError(.badInterchange, "the signing history: " + message)
    }
}

extension FixedWidthInteger where Self: UnsignedInteger {
    /// Parses plain decimal digits with no sign and no leading zero (`0`
    /// itself excepted); nil for anything else or a value out of range.
    init?(canonical text: String) {
        let utf8 = Array(text.utf8)
        guard !utf8.isEmpty, utf8.allSatisfy({ (0x30...0x39).contains($0) }), utf8.count == 1 || utf8[0] != 0x30
        else { return nil }
        guard let value = Self(text, radix: 10) else { return nil }
        self = value
    }
}
