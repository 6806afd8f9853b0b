import DSMR
import LMDB

/// Proof that a producer signed two different chunks for one slot: both
/// chunks, each carrying the producer's own signature.
///
/// Layout in `evidence`: version (1) | signed chunk id (32) | signed chunk
/// length (4) and bytes (length 0 when the signed chunk is not held, as after
/// a signing-history import) | conflicting chunk length (4) and bytes.
public struct ConflictEvidence: Sendable, Hashable {
    static let version: UInt8 = 1

    /// The producer at fault.
    public let producer: NodeID
    /// The slot it signed twice.
    public let slot: UInt64
    /// The chunk this node signed first.
    public let signedChunkID: ChunkID
    /// That chunk, when it is held.
    public let signedChunk: Chunk?
    /// The second, conflicting chunk.
    public let conflictingChunk: Chunk

    /// Whether both chunks carry valid signatures of the producer with
    /// `publicKey`, differ, and share producer and slot: that is, whether the
    /// evidence proves the fault on its own.
    public func proves(publicKey: [UInt8], domain: SigningDomain) -> Bool {
        guard let signedChunk, signedChunk.id != conflictingChunk.id else { return false }
        return signedChunk.producer == producer && conflictingChunk.producer == producer
            && signedChunk.slot == slot && conflictingChunk.slot == slot
            && signedChunk.verifySignature(publicKey: publicKey, domain: domain)
            && conflictingChunk.verifySignature(publicKey: publicKey, domain: domain)
    }

    func encoded() -> [UInt8] {
        var bytes: [UInt8] = [Self.version]
        bytes.append(contentsOf: signedChunkID.bytes)
        for part in [signedChunk?.encoded() ?? [], conflictingChunk.encoded()] {
            withUnsafeBytes(of: UInt32(part.count).bigEndian) { bytes.append(contentsOf: $0) }
            bytes.append(contentsOf: part)
        }
        return bytes
    }

    init(producer: NodeID, slot: UInt64, signedChunkID: ChunkID, signedChunk: Chunk?, conflictingChunk: Chunk) {
        self.producer = producer
        self.slot = slot
        self.signedChunkID = signedChunkID
        self.signedChunk = signedChunk
        self.conflictingChunk = conflictingChunk
    }

    init(producer: NodeID, slot: UInt64, decoding value: UnsafeRawBufferPointer, limits: DecodingLimits) throws {
        func fail(_ why: String) -> ChunkStoreError {
            ChunkStoreError(.corruptRecord, "evidence for \(producer) slot \(slot): \(why)")
        }
        guard value.count >= 1 + 32 + 4 + 4, value[0] == Self.version else { throw fail("bad header") }
        var offset = 33
        func part() throws -> [UInt8] {
            guard value.count - offset >= 4 else { throw fail("truncated length") }
            let length = Int(UInt32(bigEndian: value.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            offset += 4
            guard value.count - offset >= length else { throw fail("length \(length) exceeds the record") }
            defer { offset += length }
            return Array(value[offset..<offset + length])
        }
        do {
            self.signedChunkID = try ChunkID(bytes: value[1..<33])
            let first = try part()
            let second = try part()
            guard offset == value.count else { throw fail("trailing bytes") }
            self.signedChunk = first.isEmpty ? nil : try Chunk(decoding: first, limits: limits)
            self.conflictingChunk = try Chunk(decoding: second, limits: limits)
        } catch let error as ChunkStoreError {
            throw error
        } catch {
            throw fail("\(error)")
        }
        self.producer = producer
        self.slot = slot
    }
}

extension ChunkStore {
    /// Keeps the first proof for a (producer, slot); later conflicts add
    /// nothing a slashing needs.
    static func storeEvidence(
        first: SignedRecord, second: PreparedChunk, tables: Tables, limits: DecodingLimits,
        _ txn: borrowing WriteTransaction
    ) throws {
        let chunk = second.chunk
        let key = Keys.perProducer(chunk.producer, chunk.slot)
        if try txn.contains(key, in: tables.evidence) { return }
        let signedChunk = try txn.withValue(forKey: first.chunkKey, in: tables.chunks) { value -> Chunk? in
            guard let (_, body) = try? ChunkRecord.parse(value) else { return nil }
            return try? Chunk(decoding: Array(body), limits: limits)
        } ?? nil
        let evidence = ConflictEvidence(
            producer: chunk.producer, slot: chunk.slot, signedChunkID: first.chunkID, signedChunk: signedChunk,
            conflictingChunk: chunk)
        try txn.put(evidence.encoded(), forKey: key, in: tables.evidence)
    }

    /// Every piece of conflict evidence held, by slot and producer.
    public func evidence() throws -> [ConflictEvidence] {
        let limits = DecodingLimits(rules: configuration.rules)
        return try snapshot { txn in
            var found: [ConflictEvidence] = []
            try txn.scan(tables.evidence) { entry in
                guard let (producer, slot) = Keys.parsePerProducer(entry.key) else {
                    throw ChunkStoreError(.corruptRecord, "evidence key of \(entry.key.count) bytes")
                }
                found.append(
                    try ConflictEvidence(producer: producer, slot: slot, decoding: entry.value, limits: limits))
                return .next
            }
            return found
        }
    }
}
