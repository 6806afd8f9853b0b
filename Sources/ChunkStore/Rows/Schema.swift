import DSMR
import LMDB

/// The store's named databases and its schema version.
///
/// | database | key | value |
/// |---|---|---|
/// | `meta` | name (UTF-8) | see `MetaKey` |
/// | `chunks` | expiry (8), chunk id (32) | `ChunkRecord` |
/// | `by_slot_producer` | slot (8), producer (20), chunk id (32) | expiry (8) |
/// | `by_expiry` | status (1), expiry (8), chunk id (32) | empty |
/// | `certificates` | expiry (8), chunk id (32) | `CertificateRow`: 0x80 + status (1), checksum (8), certificate |
/// | `signed` | slot (8), producer (20) | `SignedRecord` (chunk id, expiry) |
/// | `ledger` | window (8), producer (20) | `Dimensions` (40) |
/// | `evidence` | slot (8), producer (20) | `ConflictEvidence` |
/// | `blocks` | height (8) | `BlockRow`: block bytes, the state root (32) once executed, checksum (8) |
///
/// Integers are big-endian and fixed-width so byte order is numeric order.
/// `certificates` and `blocks` rows written before their checksums still
/// read (their layouts tell the two forms apart), so schema 2 is unchanged.
package enum Schema {
    /// Bumped whenever a key or value layout changes. Version 2 records the
    /// producer's public key in `evidence` rows.
    package static let version: UInt32 = 2
    /// The versions this build reads. A version 1 store differs only in its
    /// evidence rows, which still decode; a writable open marks the store
    /// version 2, as the rows it writes from then on are.
    package static let readable: ClosedRange<UInt32> = 1...2

    package static let meta = "meta"
    package static let chunks = "chunks"
    package static let bySlotProducer = "by_slot_producer"
    package static let byExpiry = "by_expiry"
    package static let certificates = "certificates"
    package static let signed = "signed"
    package static let ledger = "ledger"
    package static let evidence = "evidence"
    package static let blocks = "blocks"

    package static let all = [meta, chunks, bySlotProducer, byExpiry, certificates, signed, ledger, evidence, blocks]
}

/// The store's tables with their key and value types, looked up once at
/// open.
package struct Tables: Sendable {
    package let meta: Table<MetaName, BytesRow>
    package let chunks: Table<ChunkKey, ChunkRecord>
    package let bySlotProducer: Table<SlotProducerKey, IndexedExpiry>
    package let byExpiry: Table<ExpiryIndexKey, EmptyRow>
    package let certificates: Table<ChunkKey, CertificateRow>
    package let signed: Table<ProducerKey, SignedRecord>
    package let ledger: Table<ProducerKey, Dimensions>
    package let evidence: Table<ProducerKey, EvidenceRow>
    package let blocks: Table<HeightKey, BytesRow>

    package init(_ env: Environment) throws {
        meta = Table(database: try env.database(Schema.meta))
        chunks = Table(database: try env.database(Schema.chunks))
        bySlotProducer = Table(database: try env.database(Schema.bySlotProducer))
        byExpiry = Table(database: try env.database(Schema.byExpiry))
        certificates = Table(database: try env.database(Schema.certificates))
        signed = Table(database: try env.database(Schema.signed))
        ledger = Table(database: try env.database(Schema.ledger))
        evidence = Table(database: try env.database(Schema.evidence))
        blocks = Table(database: try env.database(Schema.blocks))
    }

    /// Every database, in `Schema.all` order (dumps number tables by it).
    package var all: [Database] {
        [
            meta.database, chunks.database, bySlotProducer.database, byExpiry.database, certificates.database,
            signed.database, ledger.database, evidence.database, blocks.database,
        ]
    }
}
