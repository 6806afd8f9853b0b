import ChunkStore
import StoreMaintenance
import Foundation

/// Shows a long command's progress on one line of standard error, only when
/// standard error is a terminal and the output is not JSON.
struct TerminalProgress {
    let enabled: Bool

    init(json: Bool) {
        enabled = !json && isatty(STDERR_FILENO) == 1
    }

    /// The handler to pass to the store, or nil when progress is not shown.
    var handler: ProgressHandler? {
        guard enabled else { return nil }
        return { progress in
            let percent = progress.total > 0 ? min(100, progress.done * 100 / progress.total) : 100
            FileHandle.standardError.write(
                Data("\r\u{1B}[K\(progress.stage): \(progress.done) of \(progress.total) (\(percent)%)".utf8))
        }
    }

    /// Clears the progress line.
    func finish() {
        if enabled { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
