import ArgumentParser
import ChunkStore
import DSMR

extension DSMRStore {
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one chunk (by id) or one accepted block (by --height).")

        @OptionGroup var options: StoreOptions

        @Argument(help: "The chunk's id, in hex.")
        var chunk: String?

        @Option(help: "Show the accepted block at this height instead.")
        var height: UInt64?

        func validate() throws {
            if (chunk == nil) == (height == nil) { throw ValidationError("give a chunk id or --height, not both") }
        }

        func run() throws {
            let store = try options.open(readOnly: true)
            defer { store.close() }
            if let height {
                guard let block = try store.block(at: height) else {
                    throw ValidationError("no accepted block at height \(height)")
                }
                let line = BlockLine(block)
                if options.json { return try printJSON(line) }
                print(
                    "block      \(line.id)\nheight     \(line.height)\nparent     \(line.parent)\ntimestamp  \(chainTimeText(line.timestamp))"
                )
                for reference in line.chunks { print("  chunk \(reference)") }
                return
            }
            let id: ChunkID
            do { id = try ChunkID(hex: chunk ?? "") } catch { throw ValidationError("chunk id: \(error)") }
            guard let expiry = try store.locate(id), let stored = try store.chunk(id, expiry: expiry) else {
                throw ValidationError("chunk \(id) is not held")
            }
            let summary = stored.summary
            let reference = ChunkReference(
                chunkID: id, producer: summary.producer, slot: summary.slot, expiry: summary.expiry)
            let certified = try store.certificate(for: reference) != nil
            if options.json {
                return try printJSON(
                    ChunkDetail(
                        summary: ChunkLine(summary), transactions: stored.chunk.transactions.count,
                        beneficiary: stored.chunk.beneficiary.hex, certified: certified))
            }
            print("chunk        \(id)\nproducer     \(summary.producer)\nbeneficiary  \(stored.chunk.beneficiary)")
            print(
                "slot         \(summary.slot)\nexpiry       \(chainTimeText(summary.expiry))\nstatus       \(summary.status)\norigin       \(summary.origin)"
            )
            print(
                "units        \(summary.units)\nbytes        \(summary.size)\ntransactions \(stored.chunk.transactions.count)\ncertificate  \(certified ? "held" : "none")"
            )
        }
    }
}

struct ChunkDetail: Encodable {
    let summary: ChunkLine
    let transactions: Int
    let beneficiary: String
    let certified: Bool
}

struct BlockLine: Encodable {
    let id: String
    let height: UInt64
    let parent: String
    let timestamp: Int64
    let chunks: [String]

    init(_ block: Block) {
        id = block.id.hex
        height = block.height
        parent = block.parent.hex
        timestamp = block.timestamp
        chunks = block.certificates.map { $0.reference.chunkID.hex }
    }
}
