import ChunkStore
import DSMR
import LMDB

/// Row 4: gathering 1,000 valid certificates in expiry order (what a block
/// builder walks), from a store holding 1,100 (100 of them expired at the
/// gather time); against a raw LMDB cursor over the same 1,000 rows (same
/// keys and values), copying each value out but not decoding it.
enum GatherRow {
    static let gathered = 1_000
    static let mapSize = 256 << 20

    static func run(_ context: BenchContext) async throws -> Row {
        let scale = context.scale
        let pool = try await context.certificates()
        let certificates = pool.certificates
        let expired = certificates.count - gathered
        precondition(expired >= 0, "the pool holds fewer than \(gathered) certificates")

        let storePath = try context.workspace.directory("gather-store")
        let rawPath = try context.workspace.directory("gather-raw")
        defer {
            context.workspace.discard(storePath)
            context.workspace.discard(rawPath)
        }
        let store = try ChunkStore(Fixture.configuration(path: storePath, durability: .noSync, mapSize: mapSize))
        defer { store.close() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            let callers = 64
            for caller in 0..<callers {
                group.addTask {
                    for index in stride(from: caller, to: certificates.count, by: callers) {
                        guard try await store.addCertificate(certificates[index]) else {
                            throw BenchError("certs-gather: the store refused certificate \(index)")
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        try store.sync()

        // The store's row: key expiry (8, big-endian) + chunk id; value a
        // status byte (0: pending) + the certificate's bytes.
        let raw = try RawEnvironment(path: rawPath, mapSize: mapSize, synced: false)
        defer { raw.close() }
        let records = certificates.map { certificate in
            RawRecord(
                key: bigEndian(UInt64(certificate.reference.expiry)) + certificate.reference.chunkID.bytes,
                value: [0] + certificate.encoded())
        }
        try raw.put(records[...], batch: 64)
        try raw.sync()

        // Valid at `time`: expiry after it. The first `expired` are not.
        let time = certificates[expired - 1].reference.expiry
        let lower = bigEndian(UInt64(time + 1))
        let first = try store.certificates(validAt: .milliseconds(time), limit: gathered)
        let firstRaw = try raw.scan(from: lower, limit: gathered, status: 0)
        guard first.count == gathered, first.first == certificates[expired], first.last == certificates.last,
            firstRaw.count == gathered, firstRaw.first == records[expired].value
        else { throw BenchError("certs-gather: the store or the baseline gathered the wrong certificates") }

        var storeRates: [Double] = []
        var rawRates: [Double] = []
        var count = 0
        for round in 0..<scale.rounds {
            func measureStore() throws {
                let elapsed = try seconds {
                    for _ in 0..<scale.gathers {
                        count &+= try store.certificates(validAt: .milliseconds(time), limit: gathered).count
                    }
                }
                storeRates.append(Double(scale.gathers) / elapsed)
            }
            func measureRaw() throws {
                let elapsed = try seconds {
                    for _ in 0..<scale.gathers { count &+= try raw.scan(from: lower, limit: gathered, status: 0).count }
                }
                rawRates.append(Double(scale.gathers) / elapsed)
            }
            if round % 2 == 0 {
                try measureRaw()
                try measureStore()
            } else {
                try measureStore()
                try measureRaw()
            }
            log(
                "  certs-gather round \(round + 1): store \(pretty(storeRates.last!)) /s, raw \(pretty(rawRates.last!)) /s"
            )
        }
        guard count == 2 * scale.rounds * scale.gathers * gathered else {
            throw BenchError("certs-gather: short gather")
        }

        let size = records[expired].value.count
        var row = Row(
            .certsGather, unit: "gathers/s", value: median(storeRates), baseline: median(rawRates),
            baselineLabel: "raw LMDB: cursor over the same rows, copied, not decoded")
        row.notes = [
            "one gather = 1,000 certificates (100 validators, 67 signatures, \(size) B rows) decoded in expiry order, "
                + "\(fixed(median(storeRates) * Double(gathered) / 1_000, decimals: 0))k certificates/s"
        ]
        row.extra = [("certificates_per_second", median(storeRates) * Double(gathered))]
        return row
    }
}
