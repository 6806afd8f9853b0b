import ChunkStore
import DSMR

/// A (producer, number) pair: a slot for `signed` and `evidence`, a window
/// for `ledger`.
struct ProducerNumber: Hashable, Comparable, CustomStringConvertible {
    let producer: NodeID
    let number: UInt64

    static func < (a: Self, b: Self) -> Bool { (a.producer, a.number) < (b.producer, b.number) }
    var description: String { "(\(producer.hex.prefix(8)), \(number))" }
}

/// What the model expects the store to hold about one chunk.
struct ModelChunk: Hashable {
    let producer: NodeID
    let slot: UInt64
    let expiry: Int64
    var status: ChunkStatus
    var origin: ChunkOrigin
    let units: Dimensions
}

/// What the model expects a garbage collection to report.
struct ModelGarbage: Hashable {
    var watermark: Int64 = 0
    var expiredPending = 0
    var expiredAccepted = 0
    var certificates = 0
    var signedRows = 0
    var ledgerRows = 0
    var evidenceRows = 0

    init(watermark: Int64 = 0) { self.watermark = watermark }

    init(_ report: GarbageReport) {
        watermark = report.watermark
        expiredPending = report.expiredPending
        expiredAccepted = report.expiredAccepted
        certificates = report.certificates
        signedRows = report.signedRows
        ledgerRows = report.ledgerRows
        evidenceRows = report.evidenceRows
    }

    var rowsRemoved: Int {
        expiredPending + expiredAccepted + certificates + signedRows + ledgerRows + evidenceRows
    }
}

/// What recording a block must do: accept it (the missing references and
/// the garbage collected, nil for a repeat of the tip) or refuse it.
enum BlockOutcome {
    case accepted(missing: [ChunkReference], garbage: ModelGarbage?)
    case refused(ChunkStoreError.Code)
}

/// A small in-memory model of the chunk store's rules, written from the
/// specification (DESIGN.md, "Storage"), not from the store's code.
struct StoreModel {
    let rules: Rules
    let nodeID: NodeID
    let validators: ValidatorSet
    let acceptedRetention: Int64
    let evidenceRetention: Int64

    var watermark: Int64 = 0
    var chunks: [ChunkID: ModelChunk] = [:]
    var signed: [ProducerNumber: ChunkID] = [:]
    var ledger: [ProducerNumber: Dimensions] = [:]
    /// (producer, slot) -> (the chunk signed first, the conflicting chunk).
    var evidence: [ProducerNumber: (signed: ChunkID, conflicting: ChunkID)] = [:]
    /// Certificate rows by chunk id: expiry and whether accepted.
    var certificates: [ChunkID: (expiry: Int64, status: ChunkStatus)] = [:]
    var acceptedTip: BlockTip?
    var executedTip: UInt64?

    init(configuration: StoreConfiguration, validators: ValidatorSet) {
        rules = configuration.rules
        nodeID = configuration.nodeID
        self.validators = validators
        acceptedRetention = configuration.acceptedRetention
        evidenceRetention = configuration.evidenceRetention
    }

    /// The first slot whose chunks expire after `watermark`.
    func firstLiveSlot(_ watermark: Int64) -> UInt64 {
        watermark < rules.chunkLifetime ? 0 : UInt64((watermark - rules.chunkLifetime) / rules.slotDuration) + 1
    }

    // MARK: Signing

    /// Applies `persistAndSign` (or `storeOwnChunk` when `own`) and returns
    /// the error code the store must throw, or nil when it must sign.
    mutating func sign(_ chunk: Chunk, signatureValid: Bool, now: Int64, own: Bool) -> ChunkStoreError.Code? {
        if own {
            if chunk.producer != nodeID { return .invalidChunk }
        } else if !validators.contains(chunk.producer) {
            return .notAValidator
        }
        let size = chunk.encoded().count
        if size > rules.maxChunkBytes { return .tooLarge }
        if chunk.slot > rules.slot(at: now) + rules.maxFutureSlots { return .tooFarInFuture }
        if !own && !signatureValid { return .badSignature }
        let expiry = rules.expiry(ofSlot: chunk.slot)
        if expiry <= watermark { return .expired }
        let key = ProducerNumber(producer: chunk.producer, number: chunk.slot)
        if let first = signed[key] {
            if first == chunk.id { return nil }
            if evidence[key] == nil { evidence[key] = (first, chunk.id) }
            return .conflictingChunk
        }
        let windowKey = ProducerNumber(producer: chunk.producer, number: rules.window(ofSlot: chunk.slot))
        let units = Dimensions(bandwidth: UInt64(size))
        let usage = ledger[windowKey] ?? .zero
        guard usage.canAdd(units, limit: rules.maxUnitsPerWindow) else { return .rateLimited }
        ledger[windowKey] = try! usage.adding(units)
        signed[key] = chunk.id
        // A chunk already known to be accepted (fetched, or certified by an
        // accepted block) stays accepted when it is signed later.
        let accepted = chunks[chunk.id]?.status == .accepted || certificates[chunk.id]?.status == .accepted
        chunks[chunk.id] = ModelChunk(
            producer: chunk.producer, slot: chunk.slot, expiry: expiry, status: accepted ? .accepted : .pending,
            origin: own ? .own : .signed, units: units)
        return nil
    }

    /// Applies `storeAcceptedChunk`; returns the error it must throw.
    mutating func storeAccepted(_ chunk: Chunk, expiry: Int64, signatureValid: Bool) -> ChunkStoreError.Code? {
        if chunk.encoded().count > rules.maxChunkBytes { return .tooLarge }
        if !validators.contains(chunk.producer) { return .notAValidator }
        if !signatureValid { return .badSignature }
        guard let certificate = certificates[chunk.id], certificate.expiry == expiry,
            certificate.status == .accepted
        else { return .notAccepted }
        if chunks[chunk.id] != nil {
            chunks[chunk.id]!.status = .accepted
            return nil
        }
        chunks[chunk.id] = ModelChunk(
            producer: chunk.producer, slot: chunk.slot, expiry: rules.expiry(ofSlot: chunk.slot), status: .accepted,
            origin: .fetched, units: Dimensions(bandwidth: UInt64(chunk.encoded().count)))
        return nil
    }

    // MARK: Certificates and blocks

    /// Applies `addCertificate`; returns what it must return.
    mutating func addCertificate(_ reference: ChunkReference) -> Bool {
        guard reference.expiry > watermark, certificates[reference.chunkID] == nil else { return false }
        certificates[reference.chunkID] = (reference.expiry, chunks[reference.chunkID]?.status ?? .pending)
        return true
    }

    /// Applies `recordAccepted`: the missing references and the garbage, or
    /// the error code.
    mutating func recordAccepted(_ block: Block) -> BlockOutcome {
        if let tip = acceptedTip {
            if tip.id == block.id { return .accepted(missing: [], garbage: nil) }
            guard block.height == tip.height + 1, block.parent == tip.id else { return .refused(.blockOutOfOrder) }
        }
        var missing: [ChunkReference] = []
        for certificate in block.certificates {
            let id = certificate.reference.chunkID
            if chunks[id] != nil { chunks[id]!.status = .accepted } else { missing.append(certificate.reference) }
            certificates[id] = (certificate.reference.expiry, .accepted)
        }
        acceptedTip = BlockTip(height: block.height, id: block.id)
        return .accepted(missing: missing, garbage: collect(upTo: block.timestamp))
    }

    /// Applies `markExecuted`; returns the error code, if any.
    mutating func markExecuted(_ height: UInt64) -> ChunkStoreError.Code? {
        guard let tip = acceptedTip, height <= tip.height else { return .blockOutOfOrder }
        if let executed = executedTip, executed >= height { return nil }
        executedTip = height
        return nil
    }

    // MARK: Garbage collection

    /// Moves the watermark forward to `upTo` and removes what it expires.
    mutating func collect(upTo: Int64) -> ModelGarbage {
        watermark = max(watermark, upTo)
        let w = watermark
        var report = ModelGarbage(watermark: w)
        for (id, chunk) in chunks {
            if chunk.status == .pending && chunk.expiry <= w {
                chunks[id] = nil
                report.expiredPending += 1
            } else if chunk.status == .accepted && chunk.expiry <= w - acceptedRetention {
                chunks[id] = nil
                report.expiredAccepted += 1
            }
        }
        for (id, row) in certificates
        where row.expiry <= (row.status == .accepted ? w - acceptedRetention : w) {
            certificates[id] = nil
            report.certificates += 1
        }
        let liveSlot = firstLiveSlot(w)
        for key in signed.keys where key.number < liveSlot {
            signed[key] = nil
            report.signedRows += 1
        }
        let liveWindow = rules.window(ofSlot: liveSlot)
        for key in ledger.keys where key.number < liveWindow {
            ledger[key] = nil
            report.ledgerRows += 1
        }
        let evidenceSlot = firstLiveSlot(w - evidenceRetention)
        for key in evidence.keys where key.number < evidenceSlot {
            evidence[key] = nil
            report.evidenceRows += 1
        }
        return report
    }

    // MARK: Expected reads

    /// Ids of chunks with `status`, in expiry order.
    func ids(_ status: ChunkStatus) -> [ChunkID] {
        chunks.filter { $0.value.status == status }.map { ($0.value.expiry, $0.key) }.sorted { $0 < $1 }.map(\.1)
    }

    /// Ids of `producer`'s chunks in slot order (then id order).
    func ids(producer: NodeID) -> [ChunkID] {
        chunks.filter { $0.value.producer == producer }.map { ($0.value.slot, $0.key) }.sorted { $0 < $1 }.map(\.1)
    }

    /// Pending certificates valid after `time`, in expiry order.
    func pendingCertificates(validAt time: Int64) -> [ChunkID] {
        certificates.filter { $0.value.status == .pending && $0.value.expiry > time }
            .map { ($0.value.expiry, $0.key) }.sorted { $0 < $1 }.map(\.1)
    }
}
