import DSMRNode

/// Accepted blocks execute on a lane of their own (`execution`, one run at
/// a time), apart from acceptance (`serial`). An ordered block (from the
/// driver or the etcd log) is answered once it is recorded, so the next
/// block can be ordered while this one executes; ordering stays at most one
/// block ahead of execution.
extension NodeRunner {
    /// Times the acceptance of the block at `height` from `started` and has
    /// it executed: queues a run of the lane unless one is waiting to start
    /// (it will execute this block too).
    func executeInBackground(height: UInt64, acceptStarted started: ContinuousClock.Instant) {
        guard executionBacklog.accepted(height: height, started: started) else { return }
        Task { await execution.run { await self.executeAccepted() } }
    }

    /// Waits, before a block is accepted, while two or more accepted blocks
    /// are still to execute: ordering then runs no further ahead of
    /// execution than one block.
    func awaitExecutionBacklog() async {
        guard let executed = try? node.executedTip(), node.lastAccepted.height > executed + 1 else { return }
        await execution.run {}
    }

    /// One run of the lane: executes every accepted block not yet executed.
    /// A chunk no signer could serve leaves its block to the next run (the
    /// next acceptance, or the leftover retries).
    func executeAccepted() async {
        executionBacklog.runStarting()
        guard !isStopping else { return }
        do {
            let done = try await node.executePending()
            for elapsed in executionBacklog.executed(done.map(\.height)) { metrics.acceptTime.record(elapsed) }
        } catch let error as NodeError where error.code == .chunkUnavailable {
            logger.notice(
                "accepted block waits for chunks", metadata: ["height": "\((try? node.executedTip() ?? 0) ?? 0)"])
        } catch {
            if !isStopping { trouble(.execution, error, "cannot execute the accepted blocks") }
        }
        if let executed = try? node.executedTip() {
            metrics.executedHeight.record(Int64(clamping: executed))
        }
    }
}
