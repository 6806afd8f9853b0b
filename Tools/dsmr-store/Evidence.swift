import ArgumentParser
import ChunkStore
import DSMR

extension DSMRStore {
    struct Evidence: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the conflict evidence held: producers that signed two chunks for one slot.",
            discussion:
                "With --json, each entry carries both chunks' canonical bytes in hex, so the proof can be handed on.")

        @OptionGroup var options: StoreOptions

        func run() throws {
            let store = try options.open(readOnly: true)
            defer { store.close() }
            let evidence = try store.evidence()
            if options.json { return try printJSON(evidence.map(EvidenceLine.init)) }
            for proof in evidence {
                print(
                    "producer \(proof.producer) slot \(proof.slot): signed \(proof.signedChunkID)\(proof.signedChunk == nil ? " (not held)" : ""), then \(proof.conflictingChunk.id)"
                )
            }
            print("\(evidence.count) conflicts")
        }
    }
}

/// One piece of evidence as JSON.
struct EvidenceLine: Encodable {
    let producer: String
    let slot: UInt64
    let signedChunkID: String
    let signedChunk: String?
    /// The producer's public key recorded with the evidence (hex), if any.
    let producerKey: String?
    let conflictingChunkID: String
    let conflictingChunk: String

    init(_ evidence: ConflictEvidence) {
        producer = evidence.producer.hex
        slot = evidence.slot
        signedChunkID = evidence.signedChunkID.hex
        signedChunk = evidence.signedChunk.map { Hex.encode($0.encoded()) }
        producerKey = evidence.producerKey.map { Hex.encode($0) }
        conflictingChunkID = evidence.conflictingChunk.id.hex
        conflictingChunk = Hex.encode(evidence.conflictingChunk.encoded())
    }
}
