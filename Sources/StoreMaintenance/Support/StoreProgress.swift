import ChunkStore
/// How far a long operation (check, dump, load) has come.
public struct StoreProgress: Sendable, Hashable {
    /// What is being done, such as `checking chunks`.
    public let stage: String
    /// Rows done in this stage.
    public let done: Int
    /// Rows in this stage, as counted when it began.
    public let total: Int

    /// Creates a progress report.
    public init(stage: String, done: Int, total: Int) {
        self.stage = stage
        self.done = done
        self.total = total
    }
}

/// Receives progress now and then (every few thousand rows), on the thread
/// doing the work.
public typealias ProgressHandler = (StoreProgress) -> Void

/// Counts rows per stage and calls a handler every `interval` rows.
final class ProgressCounter {
    private let handler: ProgressHandler?
    private let interval: Int
    private var stage = ""
    private var done = 0
    private var total = 0

    init(_ handler: ProgressHandler?, interval: Int = 4_096) {
        self.handler = handler
        self.interval = interval
    }

    /// Starts a stage of `total` rows.
    func begin(_ stage: String, total: Int) {
        self.stage = stage
        done = 0
        self.total = total
        handler?(StoreProgress(stage: stage, done: 0, total: total))
    }

    /// Counts one row.
    func tick() {
        done += 1
        if done % interval == 0 { handler?(StoreProgress(stage: stage, done: done, total: total)) }
    }

    /// Ends the stage.
    func end() {
        handler?(StoreProgress(stage: stage, done: done, total: max(total, done)))
    }
}
