import LMDB

/// The store's named databases and its schema version.
///
/// | database | key | value |
/// |---|---|---|
/// | `meta` | name (UTF-8) | see `MetaKey` |
/// | `chunks` | expiry (8), chunk id (32) | `ChunkRecord` |
/// | `by_slot_producer` | slot (8), producer (20), chunk id (32) | expiry (8) |
/// | `by_expiry` | status (1), expiry (8), chunk id (32) | empty |
/// | `certificates` | expiry (8), chunk id (32) | status (1), certificate |
/// | `signed` | slot (8), producer (20) | `SignedRecord` (chunk id, expiry) |
/// | `ledger` | window (8), producer (20) | `Dimensions` (40) |
/// | `evidence` | slot (8), producer (20) | `ConflictEvidence` |
/// | `blocks` | height (8) | block bytes |
///
/// Integers are big-endian and fixed-width so byte order is numeric order.
enum Schema {
    /// Bumped whenever a key or value layout changes.
    static let version: UInt32 = 1

    static let meta = "meta"
    static let chunks = "chunks"
    static let bySlotProducer = "by_slot_producer"
    static let byExpiry = "by_expiry"
    static let certificates = "certificates"
    static let signed = "signed"
    static let ledger = "ledger"
    static let evidence = "evidence"
    static let blocks = "blocks"

    static let all = [meta, chunks, bySlotProducer, byExpiry, certificates, signed, ledger, evidence, blocks]
}

/// The store's database handles, looked up once at open.
struct Tables: Sendable {
    let meta: Database
    let chunks: Database
    let bySlotProducer: Database
    let byExpiry: Database
    let certificates: Database
    let signed: Database
    let ledger: Database
    let evidence: Database
    let blocks: Database

    init(_ env: Environment) throws {
        meta = try env.database(Schema.meta)
        chunks = try env.database(Schema.chunks)
        bySlotProducer = try env.database(Schema.bySlotProducer)
        byExpiry = try env.database(Schema.byExpiry)
        certificates = try env.database(Schema.certificates)
        signed = try env.database(Schema.signed)
        ledger = try env.database(Schema.ledger)
        evidence = try env.database(Schema.evidence)
        blocks = try env.database(Schema.blocks)
    }

    var all: [Database] { [meta, chunks, bySlotProducer, byExpiry, certificates, signed, ledger, evidence, blocks] }
}
