import ChunkStore
import Foundation
import LMDB

/// A failure of a command, as the tool reports it: the exit status, a message
/// on standard error and, with `--json`, one JSON object on standard output.
///
/// Exit statuses: 2 when the store is damaged (LMDB or a decoder found
/// damage, or the reading child died by a signal or hung), 1 when it could
/// not be read at all or the command was misused.
struct ToolFailure: Encodable {
    /// `damaged` or `unreadable`.
    let outcome: String
    /// What happened, in words.
    let message: String
    /// The signal that killed the reading child, if one did.
    var signal: Int32?
    /// The table the child was reading when it died or stopped.
    var table: String?
    /// The last key it read in `table` (or was looking up), in hex.
    var key: String?
    /// Whether `key` was being looked up rather than read by a cursor.
    var lookingUp: Bool?
    /// The reads it made before.
    var reads: UInt64?
    /// Whether the watchdog stopped it for making no progress.
    var hung: Bool?

    var status: Int32 { outcome == "damaged" ? 2 : 1 }

    /// LMDB's codes for damaged files: a page of the wrong type or not
    /// found, a failed environment, a tree deeper than a cursor can walk, a
    /// database record of the wrong size, a file that is not LMDB, and a
    /// transaction that one of these already failed (`MDB_BAD_TXN`).
    static let damageCodes: Set<LMDBError.Code> = [
        .corrupted, .invalid, .pageNotFound, .panic, .cursorFull, .incompatible, .badTransaction,
    ]

    /// The damage an error reports, or nil when it is not damage.
    static func damage(_ error: any Error) -> ToolFailure? {
        switch error {
        case let error as ChunkStoreError where error.code == .damaged:
            return ToolFailure(outcome: "damaged", message: error.message)
        case let error as ChunkStoreError where error.code == .corruptRecord:
            return ToolFailure(outcome: "damaged", message: "the store is damaged: \(error)")
        case let error as LMDBError where damageCodes.contains(error.code):
            return ToolFailure(outcome: "damaged", message: "the store is damaged: \(error)")
        default:
            return nil
        }
    }

    /// Prints the failure: the message on standard error, and the JSON object
    /// on standard output when `json`.
    func print(json: Bool) {
        printError("dsmr-store: \(message)")
        if json { try? printJSON(self) }
    }

    /// Whether the command line asks for JSON.
    static var jsonRequested: Bool { CommandLine.arguments.dropFirst().contains("--json") }
}
