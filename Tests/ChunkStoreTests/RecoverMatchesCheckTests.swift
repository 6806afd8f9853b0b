import ChunkStore
import StoreMaintenance
import DSMR
import LMDB
import Testing

/// After `recover()`, `check()` finds nothing that it calls repairable, and
/// whatever it still finds is what `recover()` said it could not repair.
@Suite struct RecoverMatchesCheckTests {
    typealias Damage = @Sendable (_ env: Environment, _ chunks: [Chunk]) throws -> Void

    static func put(_ table: String, _ key: [UInt8], _ value: [UInt8], _ env: Environment) throws {
        let database = try env.database(table)
        try env.write { txn in try txn.put(value, forKey: key, in: database) }
    }

    static func change(_ table: String, _ key: [UInt8], _ env: Environment, _ body: (inout [UInt8]) -> Void) throws {
        let database = try env.database(table)
        try env.write { txn in
            guard var value = try txn.get(key, in: database) else { throw ChunkStoreError(.io, "no row to damage") }
            body(&value)
            try txn.put(value, forKey: key, in: database)
        }
    }

    static func remove(_ table: String, _ key: [UInt8], _ env: Environment) throws {
        let database = try env.database(table)
        try env.write { txn in _ = try txn.delete(key, in: database) }
    }

    static func signedKey(_ chunk: Chunk) -> [UInt8] { RawDamage.perProducerKey(chunk.slot, chunk.producer) }

    /// One kind of damage per entry, named for the failure message.
    static let damages: [(String, Damage)] = [
        (
            "a signed value cut short",
            { env, chunks in
                try change("signed", signedKey(chunks[3]), env) { $0.removeLast(5) }
            }
        ),
        (
            "a signed value with unknown flags",
            { env, chunks in
                try change("signed", signedKey(chunks[3]), env) { $0[41] = 0xF0 }
            }
        ),
        (
            "a signed key of the wrong size",
            { env, chunks in
                try put("signed", signedKey(chunks[3]).dropLast(), [1] + [UInt8](repeating: 7, count: 41), env)
            }
        ),
        (
            "an evidence key of the wrong size",
            { env, _ in
                try put("evidence", [1, 2, 3], [1], env)
            }
        ),
        (
            "a ledger key of the wrong size",
            { env, _ in
                try put("ledger", [1, 2, 3], [UInt8](repeating: 0, count: 40), env)
            }
        ),
        (
            "a ledger value that does not decode",
            { env, chunks in
                try change("ledger", RawDamage.perProducerKey(0, chunks[3].producer), env) { $0.removeLast() }
            }
        ),
        (
            "a raised ledger",
            { env, chunks in
                try change("ledger", RawDamage.perProducerKey(0, chunks[3].producer), env) { $0[7] &+= 1 }
            }
        ),
        (
            "a chunk's bytes flipped",
            { env, chunks in
                try RawDamage.flipRecord(chunks[4], at: 200, env)
            }
        ),
        (
            "a chunk header flipped",
            { env, chunks in
                try RawDamage.flipRecord(chunks[4], at: 30, env)
            }
        ),
        (
            "a chunk key of the wrong size",
            { env, _ in
                try put("chunks", [9, 9], [1, 2, 3], env)
            }
        ),
        (
            "a missing producer/slot row",
            { env, chunks in
                let chunk = chunks[5]
                try remove(
                    "by_slot_producer", RawDamage.bigEndian(chunk.slot) + chunk.producer.bytes + chunk.id.bytes, env)
            }
        ),
        (
            "a dangling expiry row",
            { env, _ in
                try put("by_expiry", [0] + RawDamage.bigEndian(99_000) + [UInt8](repeating: 3, count: 32), [], env)
            }
        ),
        (
            "a signed row removed",
            { env, chunks in
                try remove("signed", signedKey(chunks[6]), env)
            }
        ),
        (
            "a signed row naming another producer's chunk",
            { env, chunks in
                let other = try #require(
                    try env.read { txn in try txn.get(signedKey(chunks[7]), in: try env.database("signed")) })
                try put("signed", signedKey(chunks[6]), other, env)
            }
        ),
        (
            "a certificate filed under another chunk",
            { env, chunks in
                let certificate = MaintenanceTestbed.certificate(for: chunks[2])
                let key =
                    RawDamage.bigEndian(UInt64(certificate.reference.expiry)) + [UInt8](repeating: 0xEE, count: 32)
                try put("certificates", key, [0] + certificate.encoded(), env)
            }
        ),
        (
            "a certificate that does not decode",
            { env, chunks in
                let key = RawDamage.chunkKey(chunks[2])
                try change("certificates", key, env) { $0.removeLast() }
            }
        ),
        (
            "an evidence value that does not decode (not repairable)",
            { env, chunks in
                try put("evidence", RawDamage.perProducerKey(9, chunks[0].producer), [1, 2], env)
            }
        ),
    ]

    @Test(arguments: damages.indices)
    func recoverRepairsEverythingCheckCallsRepairable(_ index: Int) async throws {
        let (name, damage) = Self.damages[index]
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        let chunks = try await MaintenanceTestbed.fill(store)
        store.close()
        try bed.withRawEnvironment("a") { try damage($0, chunks) }

        let damaged = try bed.open("a")
        defer { damaged.close() }
        let before = try damaged.check()
        #expect(!before.isClean, "\(name): check found nothing")
        let recovery = try await damaged.recover()
        let after = try damaged.check()
        let repairable = after.problems.filter(\.isRepairable)
        #expect(repairable.isEmpty, "\(name): still found after recover: \(repairable)")
        #expect(Set(after.problems) == Set(recovery.unrepaired), "\(name): recover reported \(recovery.unrepaired)")
    }

    @Test func theToolExitsTwoAndListsWhatRecoverCouldNotRepair() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        let chunks = try await MaintenanceTestbed.fill(store)
        store.close()
        try bed.withRawEnvironment("a") { env in
            try Self.put("evidence", RawDamage.perProducerKey(9, chunks[0].producer), [1, 2], env)
            try Self.remove(
                "by_slot_producer", RawDamage.bigEndian(chunks[5].slot) + chunks[5].producer.bytes + chunks[5].id.bytes,
                env)
        }
        let run = try StoreToolTests.run(["recover", "-s", bed.path("a")])
        #expect(run.status == 2, "\(run.error)")
        #expect(run.output.contains("not repaired: evidenceCorrupt"), "\(run.output)")
        #expect(!run.output.contains("missingIndexRow"))
    }
}
