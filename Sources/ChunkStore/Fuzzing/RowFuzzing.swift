import DSMR
import LMDB

/// Entry points for the fuzz targets under `Tools/fuzz`, which import them
/// with `@_spi(Fuzzing) import ChunkStore`; not part of the store's API.
@_spi(Fuzzing) public enum RowFuzzing {
    /// How many tables (and so table numbers) the schema has.
    public static let tableCount = Schema.all.count
    /// How many typed `meta` values there are.
    public static let metaCount = 9

    /// Runs the typed key and value decoders of table `table` on `key` and
    /// `value`; whatever decodes must encode to bytes that decode again and
    /// encode to the same bytes (traps otherwise). Returns whether both
    /// decoded.
    @discardableResult
    public static func roundTrip(table: Int, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) -> Bool {
        switch table {
        case 0: return both(roundTrip(MetaName.self, key), roundTrip(BytesRow.self, value))
        case 1: return both(roundTrip(ChunkKey.self, key), roundTrip(ChunkRecord.self, value, headerOnly: true))
        case 2: return both(roundTrip(SlotProducerKey.self, key), roundTrip(IndexedExpiry.self, value))
        case 3: return both(roundTrip(ExpiryIndexKey.self, key), roundTrip(EmptyRow.self, value))
        case 4: return both(roundTrip(ChunkKey.self, key), roundTrip(CertificateRow.self, value))
        case 5: return both(roundTrip(ProducerKey.self, key), roundTrip(SignedRecord.self, value))
        case 6: return both(roundTrip(ProducerKey.self, key), roundTrip(Dimensions.self, value))
        case 7: return both(roundTrip(ProducerKey.self, key), roundTrip(EvidenceRow.self, value))
        default: return both(roundTrip(HeightKey.self, key), roundTrip(BytesRow.self, value))
        }
    }

    /// ``roundTrip(table:key:value:)`` for the typed `meta` value number
    /// `field` (version, network, chain, node, rules, retention, watermark,
    /// accepted tip, executed tip).
    @discardableResult
    public static func roundTripMeta(field: Int, value: UnsafeRawBufferPointer) -> Bool {
        switch field {
        case 0, 1: return roundTrip(UInt32Row.self, value)
        case 2, 3: return roundTrip(BytesRow.self, value)
        case 4: return roundTrip(RulesRow.self, value)
        case 5: return roundTrip(RetentionRow.self, value)
        case 6: return roundTrip(Int64Row.self, value)
        case 7: return roundTrip(BlockTip.self, value)
        default: return roundTrip(UInt64Row.self, value)
        }
    }

    /// Both, after evaluating both (so each decoder runs on every input).
    private static func both(_ first: Bool, _ second: Bool) -> Bool { first && second }

    private static func roundTrip<R: Row>(
        _ type: R.Type, _ bytes: UnsafeRawBufferPointer, headerOnly: Bool = false
    )
        -> Bool
    {
        guard let decoded = try? R(decoding: bytes) else { return false }
        var first = decoded.encoded
        if let size = R.size {
            precondition(first.count == size, "\(R.self) encodes to \(first.count) bytes, not \(size)")
        }
        // A chunk record's row is its header; decoding needs a chunk after it.
        if headerOnly { first += [0] }
        guard let again = first.withUnsafeBytes({ try? R(decoding: $0) }) else {
            preconditionFailure("\(R.self): what it encodes does not decode")
        }
        precondition(again.encoded == decoded.encoded, "\(R.self): encode, decode, encode changes the bytes")
        return true
    }
}
