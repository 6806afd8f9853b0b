import ChunkStore
import FuzzSupport

// A signing history is the one file operators feed into a store from
// outside: it must parse or be refused, and what parses must round-trip.
fuzz { input in
    guard let history = try? SigningHistory(json: input) else { return }
    guard let text = try? history.json(), let again = try? SigningHistory(json: text) else {
        preconditionFailure("an accepted signing history does not re-encode to an accepted one")
    }
    precondition(again == history, "the signing history does not round-trip")
}
