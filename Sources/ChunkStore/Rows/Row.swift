import LMDB

/// A key or value type of one of the store's tables: its size, how it is
/// written, and a decoding initializer that checks the bytes taken from the
/// map (length first) and throws `corruptRecord`, in release builds too.
package protocol Row {
    /// The encoded size, or nil when it varies.
    static var size: Int? { get }
    /// The bytes as stored.
    var encoded: [UInt8] { get }
    /// Decodes bytes read from the map, checking their length and contents.
    init(decoding bytes: UnsafeRawBufferPointer) throws
}

/// One of the store's named databases with the types of its keys and values:
/// a cheap value holding only the database handle.
package struct Table<Key: Row, Value: Row>: Sendable {
    package let database: Database

    /// The database's name, as in `Schema`.
    package var name: String { database.name }

    /// Decodes a key read from this table; errors name the table.
    package func key(_ bytes: UnsafeRawBufferPointer) throws -> Key {
        try naming { try Key(decoding: bytes) }
    }

    /// Decodes a value read from this table; errors name the table.
    package func value(_ bytes: UnsafeRawBufferPointer) throws -> Value {
        try naming { try Value(decoding: bytes) }
    }

    private func naming<R>(_ body: () throws -> R) throws -> R {
        do {
            return try body()
        } catch let error as ChunkStoreError {
            throw ChunkStoreError(error.code, "\(name): \(error.message)")
        } catch {
            throw ChunkStoreError(.corruptRecord, "\(name): \(error)")
        }
    }
}

/// A row as a scan finds it: raw bytes, decoded (and checked) on demand.
package struct TableEntry<Key: Row, Value: Row> {
    package let table: Table<Key, Value>
    /// The row as stored, valid only inside the scan's body.
    package let raw: Entry

    /// The decoded key; throws `corruptRecord` when it is malformed.
    package func key() throws -> Key { try table.key(raw.key) }
    /// The decoded value; throws `corruptRecord` when it is malformed.
    package func value() throws -> Value { try table.value(raw.value) }
}

/// A value with no bytes (`by_expiry` rows carry everything in the key).
package struct EmptyRow: Row {
    package static let size: Int? = 0
    package var encoded: [UInt8] { [] }
    package init() {}
    package init(decoding bytes: UnsafeRawBufferPointer) throws {
        try RowReader.expect(bytes, size: 0, "an empty value")
    }
}

/// Bytes stored as they are (blocks, `meta` names); their meaning is decoded
/// by the DSMR codec or the reader.
package struct BytesRow: Row {
    package static let size: Int? = nil
    package let bytes: [UInt8]
    package var encoded: [UInt8] { bytes }
    package init(_ bytes: [UInt8]) { self.bytes = bytes }
    package init(decoding bytes: UnsafeRawBufferPointer) throws { self.bytes = Array(bytes) }
}
