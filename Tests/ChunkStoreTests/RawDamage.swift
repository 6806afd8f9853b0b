import ChunkStore
import DSMR
import LMDB

/// Keys and byte surgery for tests that damage a store straight in LMDB.
enum RawDamage {
    static func bigEndian(_ value: UInt64) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }

    /// The `chunks` key of `chunk` under the testbed's rules.
    static func chunkKey(_ chunk: Chunk, rules: Rules = MaintenanceTestbed.rules) -> [UInt8] {
        bigEndian(UInt64(rules.expiry(ofSlot: chunk.slot))) + chunk.id.bytes
    }

    /// The `signed`, `ledger` and `evidence` key of (number, producer).
    static func perProducerKey(_ number: UInt64, _ producer: NodeID) -> [UInt8] {
        bigEndian(number) + producer.bytes
    }

    /// Flips one bit of the stored record of `chunk` at `offset` (the header
    /// is 87 bytes: version, status, origin, producer, slot, expiry, units,
    /// checksum).
    static func flipRecord(_ chunk: Chunk, at offset: Int, _ env: Environment) throws {
        let chunks = try env.database("chunks")
        try env.write { txn in
            let key = chunkKey(chunk)
            guard var record = try txn.get(key, in: chunks) else { throw ChunkStoreError(.io, "no record to damage") }
            record[offset] ^= 0x01
            try txn.put(record, forKey: key, in: chunks)
        }
    }
}
