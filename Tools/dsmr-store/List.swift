import ArgumentParser
import ChunkStore
import DSMR

extension DSMRStore {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ls", abstract: "List chunks by status (in expiry order) or by producer (in slot order).")

        @OptionGroup var options: StoreOptions

        @Option(help: "pending or accepted.")
        var status: String = "pending"

        @Option(help: "Only this producer (hex node id); lists in slot order.")
        var producer: String?

        @Option(help: "The most chunks to list.")
        var limit: Int = 100

        func validate() throws {
            guard status == "pending" || status == "accepted" else {
                throw ValidationError("--status must be pending or accepted, not \(status)")
            }
            guard limit > 0 else { throw ValidationError("--limit must be positive") }
        }

        func run() throws {
            let store = try options.open(readOnly: true)
            defer { store.close() }
            var chunks: [ChunkSummary]
            if let producer {
                let id: NodeID
                do { id = try NodeID(hex: producer) } catch { throw ValidationError("--producer: \(error)") }
                chunks = Array(try store.chunks(producer: id, slots: 0...Slot.max).prefix(limit))
            } else {
                chunks = try store.chunks(status: status == "pending" ? .pending : .accepted, limit: limit)
            }
            if options.json { return try printJSON(chunks.map(ChunkLine.init)) }
            print(
                "chunk                                                             producer                                   slot      expiry  status    origin   bytes"
            )
            for chunk in chunks {
                print(
                    "\(chunk.id)  \(chunk.producer)  \(pad(chunk.slot, 6))  \(pad(chunk.expiry, 10))  \(chunk.status.description.padding(toLength: 8, withPad: " ", startingAt: 0))  \(chunk.origin.description.padding(toLength: 7, withPad: " ", startingAt: 0))  \(chunk.size)"
                )
            }
            print("\(chunks.count) chunks")
        }
    }
}

/// A chunk summary as JSON.
struct ChunkLine: Encodable {
    let id: String
    let producer: String
    let slot: UInt64
    let expiry: Int64
    let status: String
    let origin: String
    let units: Dimensions
    let bytes: Int

    init(_ summary: ChunkSummary) {
        id = summary.id.hex
        producer = summary.producer.hex
        slot = summary.slot
        expiry = summary.expiry
        status = summary.status.description
        origin = summary.origin.description
        units = summary.units
        bytes = summary.size
    }
}
