import DSMR

/// Checks rows that come from outside the store (a dump being loaded)
/// against the schema, with the same typed decoders every read uses.
extension Tables {
    /// Decodes `key` and `value` as a row of the database numbered `table`
    /// (in `Schema.all` order) and checks they are in the one form this
    /// build writes: each decodes, and encodes back to the same bytes (for
    /// a chunk record, its header; a `certificates` row may also be in the
    /// older form without a checksum, which this build still reads). A
    /// `meta` row must be one of `MetaKey.all`, with the value its name
    /// calls for. A chunk record's chunk must hash to its key's id.
    ///
    /// - Throws: `corruptRecord` naming the table and what is wrong.
    package func checkRow(table: Int, key: [UInt8], value: [UInt8]) throws {
        switch table {
        case 0: try checkMeta(key: key, value: value)
        case 1:
            try check(chunks, key, value, valuePrefixOnly: true)
            try checkChunkBody(key: key, value: value)
        case 2: try check(bySlotProducer, key, value)
        case 3: try check(byExpiry, key, value)
        case 4: try check(certificates, key, value, form: { $0.storedForm })
        case 5: try check(signed, key, value)
        case 6: try check(ledger, key, value)
        case 7: try check(evidence, key, value)
        case 8: try check(blocks, key, value)
        default: throw ChunkStoreError(.corruptRecord, "no table number \(table) in schema version \(Schema.version)")
        }
    }

    /// `form` gives the bytes a decoded value must match: its encoding, or
    /// for a `certificates` row the form it was read in (a dump of an older
    /// store holds rows without a checksum).
    private func check<Key, Value>(
        _ table: Table<Key, Value>, _ key: [UInt8], _ value: [UInt8], valuePrefixOnly: Bool = false,
        form: (Value) -> [UInt8] = { $0.encoded }
    ) throws {
        let decodedKey = try key.withUnsafeBytes { try table.key($0) }
        guard decodedKey.encoded == key else {
            throw ChunkStoreError(.corruptRecord, "\(table.name): the key is not in the form this build writes")
        }
        let decodedValue = try value.withUnsafeBytes { try table.value($0) }
        let encoded = form(decodedValue)
        guard valuePrefixOnly ? value.starts(with: encoded) : encoded == value else {
            throw ChunkStoreError(.corruptRecord, "\(table.name): the value is not in the form this build writes")
        }
    }

    /// A chunk record must hold the chunk its key names: the bytes after
    /// the header hash to the key's chunk id, and the header's expiry is
    /// the key's (the header's checksum covers only the header).
    private func checkChunkBody(key: [UInt8], value: [UInt8]) throws {
        let chunkKey = try key.withUnsafeBytes { try chunks.key($0) }
        try value.withUnsafeBytes { raw in
            let (record, body) = try ChunkRecord.parse(raw)
            guard ChunkID(hashing: body) == chunkKey.id else {
                throw ChunkStoreError(
                    .corruptRecord, "chunks: the record's \(body.count) chunk bytes do not hash to \(chunkKey.id)")
            }
            guard record.expiry == chunkKey.expiry else {
                throw ChunkStoreError(
                    .corruptRecord, "chunks: the header's expiry \(record.expiry) is not the key's \(chunkKey.expiry)")
            }
        }
    }

    private func checkMeta(key: [UInt8], value: [UInt8]) throws {
        let name = String(decoding: key, as: UTF8.self)
        func expect<Value: Row>(_ field: MetaField<Value>, _ check: (Value) -> Bool = { _ in true }) throws {
            do {
                let decoded = try value.withUnsafeBytes { try Value(decoding: $0) }
                guard decoded.encoded == value, check(decoded) else {
                    throw ChunkStoreError(.corruptRecord, "not in the form this build writes")
                }
            } catch let error as ChunkStoreError {
                throw ChunkStoreError(.corruptRecord, "meta \(name): \(error.message)")
            }
        }
        switch key {
        case MetaKey.version.key.bytes: try expect(MetaKey.version) { $0.value == Schema.version }
        case MetaKey.network.key.bytes: try expect(MetaKey.network)
        case MetaKey.chain.key.bytes: try expect(MetaKey.chain) { $0.bytes.count == 32 }
        case MetaKey.node.key.bytes: try expect(MetaKey.node) { $0.bytes.count == 20 }
        case MetaKey.rules.key.bytes: try expect(MetaKey.rules)
        case MetaKey.retention.key.bytes: try expect(MetaKey.retention)
        case MetaKey.watermark.key.bytes: try expect(MetaKey.watermark)
        case MetaKey.acceptedTip.key.bytes: try expect(MetaKey.acceptedTip)
        case MetaKey.executedTip.key.bytes: try expect(MetaKey.executedTip)
        case MetaKey.signingFloor.key.bytes: try expect(MetaKey.signingFloor)
        case MetaKey.blockRetention.key.bytes: try expect(MetaKey.blockRetention) { $0.value >= 0 }
        default:
            throw ChunkStoreError(.corruptRecord, "meta: no row is named \"\(name.prefix(64))\" in this schema")
        }
    }
}
