import ChunkStore
import StoreMaintenance
import DSMR
import DSMRTestSupport
import Foundation
import Testing

/// Random operation sequences against a real store, checked against
/// `StoreModel` after every step.
///
/// Seeds come from `DSMR_MODEL_SEEDS` (comma-separated) when set, steps per
/// seed from `DSMR_MODEL_STEPS`. A failure names the seed and the step.
@Suite("ChunkStore against an in-memory model")
struct ModelBasedTests {
    static var seeds: [UInt64] {
        if let text = getenv("DSMR_MODEL_SEEDS").map({ String(cString: $0) }) {
            return text.split(separator: ",").compactMap { UInt64($0) }
        }
        return [1, 2, 3]
    }

    static var steps: Int {
        getenv("DSMR_MODEL_STEPS").flatMap { Int(String(cString: $0)) } ?? 250
    }

    @Test("random operations keep the store equal to the model", arguments: seeds)
    func storeMatchesModelOverRandomOperations(seed: UInt64) async throws {
        try await withTemporaryDirectory("model") { path in
            var run = try ModelRun(path: path, seed: seed)
            defer { run.store.close() }
            for step in 0..<Self.steps {
                try await run.step(step)
            }
            #expect(run.counts.signed > 20, "too few chunks signed: \(run.counts)")
            #expect(run.counts.rateLimited > 0, "the rate limit never triggered: \(run.counts)")
            #expect(run.counts.conflicts > 0, "no conflict happened: \(run.counts)")
            #expect(run.counts.blocks > 0 && run.counts.collected > 0, "\(run.counts)")
        }
    }
}

/// Counts of what happened in a run, so a test can tell that its random
/// operations reached every rule.
struct RunCounts: CustomStringConvertible {
    var signed = 0
    var rateLimited = 0
    var conflicts = 0
    var otherRefusals = 0
    var blocks = 0
    var collected = 0
    var reopens = 0

    var description: String {
        "signed \(signed), rate-limited \(rateLimited), conflicts \(conflicts), other refusals \(otherRefusals), blocks \(blocks), chunks collected \(collected), reopens \(reopens)"
    }
}

/// The reason a model run stops: a mismatch, already recorded as an issue.
struct ModelMismatch: Error, CustomStringConvertible {
    let description: String
}

/// One seeded run: the store, the model, the clock and the chunks made so far.
struct ModelRun {
    let path: String
    let seed: UInt64
    let configuration: StoreConfiguration
    var store: ChunkStore
    var model: StoreModel
    var random: SeededGenerator
    var now: Int64 = 20_000
    var counts = RunCounts()
    /// Every chunk made so far, stored or not, by id.
    var pool: [ChunkID: Chunk] = [:]
    var poolOrder: [ChunkID] = []
    /// Chunks in the pool whose signature is not their producer's.
    var forged: Set<ChunkID> = []
    /// References an accepted block named whose chunks were missing.
    var missing: [ChunkReference] = []
    var blocks: [UInt64: Block] = [:]
    var nextTag: UInt64 = 0
    var step = 0
    var operation = ""

    init(path: String, seed: UInt64) throws {
        self.path = path
        self.seed = seed
        configuration = Fixture.configuration(path)
        store = try ChunkStore(configuration)
        model = StoreModel(configuration: configuration, validators: Fixture.validators)
        random = SeededGenerator(seed: seed)
    }

    // MARK: Steps

    mutating func step(_ index: Int) async throws {
        step = index
        now += Int64.random(in: 0...400, using: &random)
        let roll = Int.random(in: 0..<100, using: &random)
        switch roll {
        case 0..<30: try await signNew(own: false)
        case 30..<36: try await signNew(own: true)
        case 36..<42: try await signAgain()
        case 42..<50: try await signConflicting()
        case 50..<53: try await signRefused(.notAValidator)
        case 53..<56: try await signRefused(.badSignature)
        case 56..<59: try await signRefused(.tooFarInFuture)
        case 59..<62: try await signRefused(.expired)
        case 62..<64: try await signRefused(.tooLarge)
        case 64..<71: try await addCertificate()
        case 71..<80: try await recordBlock()
        case 80..<83: try await storeFetched()
        case 83..<87: try await markExecuted()
        case 87..<93: try await collectGarbage()
        default: try reopen()
        }
        try check()
    }

    /// A slot near the current one: a few behind, up to `maxFutureSlots` ahead.
    mutating func nearSlot() -> UInt64 {
        let current = Int64(model.rules.slot(at: now))
        return UInt64(max(0, current + Int64.random(in: -5...2, using: &random)))
    }

    mutating func newChunk(_ producer: Ed25519Signer, slot: UInt64, size: Int? = nil) -> Chunk {
        nextTag += 1
        let size = size ?? Int.random(in: 60...460, using: &random)
        let chunk = Fixture.chunk(producer, slot: slot, size: size, tag: seed << 32 | nextTag)
        remember(chunk)
        return chunk
    }

    mutating func remember(_ chunk: Chunk) {
        if pool.updateValue(chunk, forKey: chunk.id) == nil { poolOrder.append(chunk.id) }
    }

    mutating func signNew(own: Bool) async throws {
        let producer = own ? Fixture.node : Fixture.producers.randomElement(using: &random)!
        let chunk = newChunk(producer, slot: nearSlot())
        try await sign(chunk, signatureValid: true, own: own)
    }

    /// Asks again for a chunk made earlier: the same share if it was signed.
    mutating func signAgain() async throws {
        guard let id = poolOrder.suffix(30).randomElement(using: &random), let chunk = pool[id] else { return }
        try await sign(
            chunk, signatureValid: !forged.contains(id), own: chunk.producer == Fixture.node.nodeID)
    }

    /// A different chunk for a (producer, slot) that was signed.
    mutating func signConflicting() async throws {
        let signed = model.signed.keys.sorted()
        guard let key = signed.randomElement(using: &random) else { return try await signNew(own: false) }
        let producer = Fixture.validatorSigners.first { $0.nodeID == key.producer }!
        let chunk = newChunk(producer, slot: key.number)
        try await sign(chunk, signatureValid: true, own: producer.nodeID == Fixture.node.nodeID)
    }

    mutating func signRefused(_ kind: ChunkStoreError.Code) async throws {
        let producer = Fixture.producers.randomElement(using: &random)!
        switch kind {
        case .notAValidator:
            try await sign(newChunk(Fixture.outsider, slot: nearSlot()), signatureValid: true, own: false)
        case .badSignature:
            nextTag += 1
            let chunk = Fixture.badlySigned(
                producer, slot: nearSlot(), payload: Fixture.payload(size: 50, tag: seed << 32 | nextTag))
            remember(chunk)
            forged.insert(chunk.id)
            try await sign(chunk, signatureValid: false, own: false)
        case .tooFarInFuture:
            let slot = model.rules.slot(at: now) + model.rules.maxFutureSlots + UInt64.random(in: 1...3, using: &random)
            try await sign(newChunk(producer, slot: slot), signatureValid: true, own: false)
        case .expired:
            let live = model.firstLiveSlot(model.watermark)
            guard live > 0 else { return try await signNew(own: false) }
            let slot = UInt64.random(in: (live > 3 ? live - 3 : 0)...(live - 1), using: &random)
            try await sign(newChunk(producer, slot: slot), signatureValid: true, own: false)
        default:
            try await sign(newChunk(producer, slot: nearSlot(), size: 700), signatureValid: true, own: false)
        }
    }

    mutating func sign(_ chunk: Chunk, signatureValid: Bool, own: Bool) async throws {
        operation =
            "\(own ? "storeOwnChunk" : "persistAndSign") \(chunk.id.hex.prefix(8)) producer \(chunk.producer.hex.prefix(8)) slot \(chunk.slot) now \(now)"
        let expected = model.sign(chunk, signatureValid: signatureValid, now: now, own: own)
        let store = self.store
        let now = self.now
        let result: Result<SignatureShare, any Error>
        do {
            if own {
                result = .success(try await store.storeOwnChunk(chunk, now: .milliseconds(now)))
            } else {
                result = .success(
                    try await store.persistAndSign(chunk, validators: Fixture.validators, now: .milliseconds(now)))
            }
        } catch {
            result = .failure(error)
        }
        switch (expected, result) {
        case (nil, .success(let share)):
            counts.signed += 1
            try require(share.reference == Fixture.reference(chunk), "share names \(share.reference)")
            try require(
                share.verify(publicKey: Fixture.node.publicKey, rules: Fixture.rules, domain: Fixture.domain),
                "share does not verify")
        case (let code?, .failure(let error as ChunkStoreError)) where error.code == code:
            switch code {
            case .rateLimited: counts.rateLimited += 1
            case .conflictingChunk: counts.conflicts += 1
            default: counts.otherRefusals += 1
            }
        default:
            try fail("expected \(expected.map { "\($0)" } ?? "a share"), got \(result)")
        }
    }

    mutating func addCertificate() async throws {
        let reference: ChunkReference
        if Bool.random(using: &random), let id = poolOrder.suffix(40).randomElement(using: &random) {
            reference = Fixture.reference(pool[id]!)
        } else {
            // A chunk this store never saw: certificates are kept anyway.
            reference = Fixture.reference(newChunk(Fixture.producers.randomElement(using: &random)!, slot: nearSlot()))
        }
        operation = "addCertificate \(reference.chunkID.hex.prefix(8)) expiry \(reference.expiry)"
        let expected = model.addCertificate(reference)
        let added = try await store.addCertificate(Fixture.certificate(reference))
        try require(added == expected, "addCertificate returned \(added), expected \(expected)")
    }

    mutating func recordBlock() async throws {
        let tip = model.acceptedTip
        let kind = Int.random(in: 0..<10, using: &random)
        var height = (tip?.height ?? 0) + 1
        var parent = tip?.id ?? .zero
        if kind == 0, tip != nil {
            height += UInt64.random(in: 1...2, using: &random)
        } else if kind == 1, tip != nil {
            parent = .zero
        } else if kind == 2, let tip, let block = blocks[tip.height] {
            return try await record(block)
        }
        let candidates = poolOrder.suffix(40).shuffled(using: &random).prefix(Int.random(in: 0...3, using: &random))
        let timestamp = now - Int64.random(in: 0...7_000, using: &random)
        let block = Block(
            parent: parent, height: height, timestamp: timestamp,
            certificates: candidates.map { Fixture.certificate(pool[$0]!) })
        try await record(block)
    }

    mutating func record(_ block: Block) async throws {
        operation =
            "recordAccepted height \(block.height) timestamp \(block.timestamp) with \(block.certificates.count) certificates"
        let expected = model.recordAccepted(block)
        let store = self.store
        let result: Result<AcceptanceReport, any Error>
        do { result = .success(try await store.recordAccepted(block)) } catch { result = .failure(error) }
        switch (expected, result) {
        case (.accepted(let missing, let garbage), .success(let report)):
            try require(report.tip == BlockTip(height: block.height, id: block.id), "tip \(report.tip)")
            try require(
                Set(report.missingChunks) == Set(missing),
                "missing \(report.missingChunks.map(\.chunkID)), expected \(missing.map(\.chunkID))")
            if let garbage {
                counts.blocks += 1
                blocks[block.height] = block
                self.missing.append(contentsOf: missing)
                try checkGarbage(report.garbage, garbage)
            }
        case (.refused(let code), .failure(let error as ChunkStoreError)) where error.code == code:
            break
        default:
            try fail("expected \(expected), got \(result)")
        }
    }

    /// Stores a chunk an accepted block named but this store lacked.
    mutating func storeFetched() async throws {
        guard !missing.isEmpty else { return }
        let reference = missing.remove(at: Int.random(in: 0..<missing.count, using: &random))
        guard let chunk = pool[reference.chunkID] else { return }
        operation = "storeAcceptedChunk \(chunk.id.hex.prefix(8)) slot \(chunk.slot)"
        let expected = model.storeAccepted(chunk, expiry: reference.expiry, signatureValid: !forged.contains(chunk.id))
        let code = await errorCode { [store = self.store] in
            try await store.storeAcceptedChunk(chunk, for: reference, validators: Fixture.validators)
        }
        try require(
            code == expected,
            "storeAcceptedChunk threw \(code.map { "\($0)" } ?? "nothing"), expected \(expected.map { "\($0)" } ?? "nothing")"
        )
    }

    mutating func markExecuted() async throws {
        let height = UInt64.random(in: 0...((model.acceptedTip?.height ?? 0) + 1), using: &random)
        operation = "markExecuted \(height)"
        let expected = model.markExecuted(height)
        let code = await errorCode { [store = self.store] in try await store.markExecuted(height: height) }
        try require(
            code == expected,
            "markExecuted threw \(code.map { "\($0)" } ?? "nothing"), expected \(expected.map { "\($0)" } ?? "nothing")"
        )
    }

    mutating func collectGarbage() async throws {
        let upTo = now - Int64.random(in: 0...9_000, using: &random)
        operation = "collectGarbage upTo \(upTo)"
        let expected = model.collect(upTo: upTo)
        let report = try await store.collectGarbage(upTo: .milliseconds(upTo))
        try checkGarbage(report, expected)
    }

    mutating func checkGarbage(_ report: GarbageReport, _ expected: ModelGarbage) throws {
        counts.collected += report.chunksRemoved
        try require(ModelGarbage(report) == expected, "garbage \(report), expected \(expected)")
        // Cost: the rows removed plus at most one look per producer in each
        // of `signed`, `ledger` and `evidence`.
        let producers = Fixture.validatorSigners.count
        try require(
            report.rowsVisited <= expected.rowsRemoved + 3 * producers,
            "visited \(report.rowsVisited) rows to remove \(expected.rowsRemoved)")
    }

    mutating func reopen() throws {
        operation = "close and reopen"
        store.close()
        store = try ChunkStore(configuration)
        counts.reopens += 1
    }

    // MARK: Checking

    func fail(_ message: String) throws -> Never {
        let text = "seed \(seed) step \(step) [\(operation)]: \(message)"
        Issue.record(Comment(rawValue: text))
        throw ModelMismatch(description: text)
    }

    func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { try fail(message()) }
    }

    /// Compares everything the store exposes with the model.
    func check() throws {
        let watermark = try store.watermark()
        try require(watermark == model.watermark, "watermark \(watermark), model \(model.watermark)")
        let acceptedTip = try store.acceptedTip()
        try require(acceptedTip == model.acceptedTip, "accepted tip \(String(describing: acceptedTip))")
        let executedTip = try store.executedTip()
        try require(executedTip == model.executedTip, "executed tip \(String(describing: executedTip))")
        let report = try store.check()
        try require(report.isClean, "check() found \(report.problems.prefix(5))")

        for id in poolOrder {
            let summary = try store.summary(of: id)
            let expected = model.chunks[id]
            guard let expected else {
                try require(summary == nil, "chunk \(id.hex.prefix(8)) is held but the model dropped it: \(summary!)")
                continue
            }
            guard let summary else { try fail("chunk \(id.hex.prefix(8)) is missing; model \(expected)") }
            let actual = ModelChunk(
                producer: summary.producer, slot: summary.slot, expiry: summary.expiry, status: summary.status,
                origin: summary.origin, units: summary.units)
            try require(actual == expected, "chunk \(id.hex.prefix(8)) is \(actual), model \(expected)")
        }
        for status in ChunkStatus.allCases {
            let ids = try store.chunks(status: status).map(\.id)
            try require(
                ids == model.ids(status),
                "\(status) chunks by expiry differ: \(ids.count) vs \(model.ids(status).count)")
        }

        var slots: ClosedRange<UInt64> = 0...0
        if let low = model.signed.keys.map(\.number).min(), let high = poolOrder.compactMap({ pool[$0]?.slot }).max() {
            slots = min(low, high)...high
        }
        for producer in Fixture.validatorSigners + [Fixture.outsider] {
            let ids = try store.chunks(producer: producer.nodeID, slots: 0...Slot.max).map(\.id)
            try require(
                ids == model.ids(producer: producer.nodeID), "chunks of \(producer.nodeID.hex.prefix(8)) differ")
            for slot in slots {
                let key = ProducerNumber(producer: producer.nodeID, number: slot)
                let signed = try store.signedChunk(producer: producer.nodeID, slot: Slot(slot))
                try require(
                    signed == model.signed[key],
                    "signed \(key): \(String(describing: signed)), model \(String(describing: model.signed[key]))")
            }
            for window in model.rules.window(ofSlot: slots.lowerBound)...model.rules.window(ofSlot: slots.upperBound) {
                let key = ProducerNumber(producer: producer.nodeID, number: window)
                let usage = try store.ledgerUsage(producer: producer.nodeID, window: window)
                try require(
                    usage == model.ledger[key] ?? .zero,
                    "ledger \(key): \(usage), model \(String(describing: model.ledger[key]))")
            }
        }

        let evidence = try store.evidence()
        let found = Dictionary(
            evidence.map { (ProducerNumber(producer: $0.producer, number: $0.slot), $0) },
            uniquingKeysWith: { a, _ in a })
        try require(found.count == evidence.count, "evidence repeats a (producer, slot)")
        try require(
            Set(found.keys) == Set(model.evidence.keys),
            "evidence for \(found.keys.sorted()), model \(model.evidence.keys.sorted())")
        for (key, proof) in found {
            let expected = model.evidence[key]!
            try require(
                proof.signedChunkID == expected.signed && proof.conflictingChunk.id == expected.conflicting,
                "evidence \(key) names \(proof.signedChunkID.hex.prefix(8)) and \(proof.conflictingChunk.id.hex.prefix(8))"
            )
            let publicKey = Fixture.validatorSigners.first { $0.nodeID == proof.producer }!.publicKey
            try require(
                proof.proves(publicKey: publicKey, domain: Fixture.domain), "evidence \(key) does not prove the fault")
        }

        let certificates = try store.certificates(validAt: .milliseconds(model.watermark)).map(\.reference.chunkID)
        try require(
            certificates == model.pendingCertificates(validAt: model.watermark),
            "certificates valid at the watermark: \(certificates.count), model \(model.pendingCertificates(validAt: model.watermark).count)"
        )
        let later = try store.certificates(validAt: .milliseconds(now - 2_000), limit: 2).map(\.reference.chunkID)
        try require(
            later == Array(model.pendingCertificates(validAt: now - 2_000).prefix(2)),
            "certificates valid at now - 2 s differ")
    }
}
