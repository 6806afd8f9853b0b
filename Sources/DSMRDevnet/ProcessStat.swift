import Foundation

/// The fields of `/proc/PID/stat` the devnet reads about a process: its
/// state, its parent and when it started.
///
/// The command name (field 2) is in parentheses and may itself hold spaces
/// and parentheses, so the fields are counted from the last `)`.
package struct ProcessStat: Sendable, Hashable {
    /// The state letter (field 3): `R` running, `S` sleeping, `T` stopped,
    /// `t` stopped by a debugger, `Z` zombie, `X` dead, and others.
    package var state: Character
    /// The parent's process id (field 4).
    package var parent: Int32
    /// When the process started (field 22), in clock ticks since boot.
    package var startTime: UInt64

    /// The stat of process `pid`; nil when it does not exist or the file
    /// does not parse.
    package init?(pid: Int32) {
        guard pid > 0, let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else {
            return nil
        }
        self.init(parsing: text)
    }

    /// Parses the text of a `/proc/PID/stat` file; nil when a field the
    /// devnet reads is missing or malformed.
    package init?(parsing text: String) {
        guard let close = text.lastIndex(of: ")") else { return nil }
        // After the command name: field 3 (the state) onwards.
        let fields = text[text.index(after: close)...].split(whereSeparator: \.isWhitespace)
        guard fields.count > 19, fields[0].count == 1, let state = fields[0].first,
            let parent = Int32(fields[1]), let startTime = UInt64(fields[19])
        else { return nil }
        self.state = state
        self.parent = parent
        self.startTime = startTime
    }

    /// Stopped by a signal or a debugger: it keeps its sockets open and
    /// answers nothing until it is continued.
    package var isStopped: Bool { state == "T" || state == "t" }

    /// Ended, waiting to be reaped or being torn down.
    package var hasEnded: Bool { state == "Z" || state == "X" }
}
