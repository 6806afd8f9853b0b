import ChunkStore
import DSMR
import LMDB

/// Row 3: a chunk's bytes by id, random order, warm cache, one caller;
/// against raw LMDB doing one read transaction, `mdb_get` and a copy of the
/// same bytes per read.
enum ReadRow {
    static let mapSize = 1 << 30

    static func run(_ context: BenchContext) async throws -> Row {
        let scale = context.scale
        let producerCount = SignRows.producerCount
        let producers = Fixture.signers(producerCount)
        let validators = Fixture.validatorSet(producers)
        log("read: making \(scale.readChunks) chunks of \(SignRows.chunkSize) bytes")
        let chunks = try await Fixture.chunks(
            count: scale.readChunks, producers: producers, encodedSize: SignRows.chunkSize,
            transactions: SignRows.transactionsPerChunk
        ) { index in (index % producerCount, 1 + UInt64(index / producerCount)) }
        let now = Fixture.rules.slotStart(chunks.map(\.slot).max()!)

        let storePath = try context.workspace.directory("read-store")
        let rawPath = try context.workspace.directory("read-raw")
        defer {
            context.workspace.discard(storePath)
            context.workspace.discard(rawPath)
        }
        // How the data got there does not matter to reads: fill both sides
        // without syncing each commit, then flush once.
        let store = try ChunkStore(Fixture.configuration(path: storePath, durability: .noSync, mapSize: mapSize))
        defer { store.close() }
        try await Fixture.persist(chunks[...], into: store, validators: validators, now: now, callers: 64)
        try store.sync()
        let raw = try RawEnvironment(path: rawPath, mapSize: mapSize, synced: false)
        defer { raw.close() }
        try raw.put(chunks.map(Fixture.record)[...], batch: 64)
        try raw.sync()

        let ids = chunks.map(\.id)
        let expiries = chunks.map { Fixture.rules.expiry(ofSlot: $0.slot) }
        let keys = chunks.map { Fixture.record($0).key }
        let skip = Fixture.recordHeaderSize
        // Both sides must return the chunk's canonical bytes.
        guard try store.chunkBytes(ids[0], expiry: expiries[0]) == chunks[0].encoded(),
            try raw.get(keys[0], skip: skip) == chunks[0].encoded()
        else { throw BenchError("read: the store or the baseline returned other bytes than the chunk's") }

        var random = SeededGenerator(seed: 42)
        let order = (0..<scale.readGets).map { _ in Int(random.next() % UInt64(ids.count)) }
        var checksum = 0
        // Warm both: every chunk read once.
        for index in ids.indices {
            checksum &+= try store.chunkBytes(ids[index], expiry: expiries[index])?.count ?? 0
            checksum &+= try raw.get(keys[index], skip: skip)?.count ?? 0
        }

        var storeRates: [Double] = []
        var rawRates: [Double] = []
        for round in 0..<scale.rounds {
            func measureStore() throws {
                let time = try seconds {
                    for index in order {
                        checksum &+= try store.chunkBytes(ids[index], expiry: expiries[index])?.count ?? 0
                    }
                }
                storeRates.append(Double(order.count) / time)
            }
            func measureRaw() throws {
                let time = try seconds {
                    for index in order { checksum &+= try raw.get(keys[index], skip: skip)?.count ?? 0 }
                }
                rawRates.append(Double(order.count) / time)
            }
            if round % 2 == 0 {
                try measureRaw()
                try measureStore()
            } else {
                try measureStore()
                try measureRaw()
            }
            log("  read round \(round + 1): store \(pretty(storeRates.last!)) /s, raw \(pretty(rawRates.last!)) /s")
        }
        let expected = (ids.count + scale.rounds * order.count) * 2 * SignRows.chunkSize
        guard checksum == expected else {
            throw BenchError("read: some chunk was missing (\(checksum) of \(expected) bytes)")
        }

        var row = Row(
            .read, unit: "reads/s", value: median(storeRates), baseline: median(rawRates),
            baselineLabel: "raw LMDB: read txn + mdb_get + copy per read")
        row.goals = [Goal(text: "ratio >= 0.5", met: (row.ratio ?? 0) >= 0.5)]
        row.notes = ["chunkBytes of 16 KiB chunks by id, random order, warm, \(ids.count) chunks"]
        return row
    }
}
