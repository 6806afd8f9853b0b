import ChunkStore
import Foundation

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

    /// The damage an error reports, or nil when it is not damage.
    static func damage(_ error: any Error) -> ToolFailure? {
        guard let damage = ChunkStoreError.damage(in: error) else { return nil }
        let text = damage.code == .damaged ? damage.message : "\(damage)"
        return ToolFailure(
            outcome: "damaged", message: text.hasPrefix("the store") ? text : "the store is damaged: \(text)")
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
