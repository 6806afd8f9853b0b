import ChunkStore
import FuzzSupport
import StoreMaintenance

// A signing history is the one file operators feed into a store from
// outside: it must parse strictly or be refused, and what parses must keep
// its decoded values (producers, slots, chunk ids, metadata) through the
// writer and the reader again.
fuzz { input in
    guard let history = try? SigningHistory(json: input) else { return }
    let text = history.json()
    guard let again = try? SigningHistory(json: text) else {
        preconditionFailure("an accepted signing history does not re-encode to an accepted one")
    }
    precondition(again.metadata == history.metadata, "the metadata changes through the writer")
    precondition(again.data.count == history.data.count, "producers change through the writer")
    for (before, after) in zip(history.data, again.data) {
        precondition(before.producer == after.producer, "a producer changes through the writer")
        precondition(
            before.signedChunks.map(\.slot) == after.signedChunks.map(\.slot), "slots change through the writer")
        precondition(
            before.signedChunks.map(\.chunkID) == after.signedChunks.map(\.chunkID),
            "chunk ids change through the writer")
    }
    precondition(again.json() == text, "the writer is not deterministic")
}
